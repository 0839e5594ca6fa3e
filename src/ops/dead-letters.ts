import { readFile, writeFile } from 'node:fs/promises';
import { parseDeadLetter, type DeadLetter, type DeadLetterSource } from '../stream/dead-letters';

/**
 * The local dead-letter file (`.local/dead-letters.jsonl`), one letter a line. Acknowledged lines are removed
 * from the file on close(); lines that fail to parse are reported and kept.
 */
export class FileDeadLetterSource implements DeadLetterSource {
  private lines: string[] | undefined;
  private readonly done = new Set<string>();
  private offset = 0;

  constructor(
    private readonly path: string,
    private readonly onUnreadable: (line: number, error: string) => void = () => undefined,
  ) {}

  async receive(max: number): Promise<DeadLetter[]> {
    if (!this.lines) this.lines = (await readFile(this.path, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)))).split('\n');
    const out: DeadLetter[] = [];
    while (this.offset < this.lines.length && out.length < max) {
      const n = this.offset++;
      const text = this.lines[n]!.trim();
      if (!text) continue;
      try {
        out.push(parseDeadLetter(text, `line ${n + 1}`));
      } catch (err) {
        this.onUnreadable(n + 1, (err as Error).message);
      }
    }
    return out;
  }

  async acknowledge(letter: DeadLetter): Promise<void> {
    this.done.add(letter.id);
  }

  async close(): Promise<void> {
    if (!this.lines || this.done.size === 0) return;
    const kept = this.lines.filter((line, n) => line.trim() !== '' && !this.done.has(`line ${n + 1}`));
    await writeFile(this.path, kept.length ? `${kept.join('\n')}\n` : '');
  }
}
