import { SingleBar } from 'cli-progress';

/** Reports (stage, fraction) progress: a live bar on a terminal, one line per stage otherwise, nothing when quiet. */
export interface ProgressReporter {
  update(stage: string, fraction: number): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, quiet: boolean): ProgressReporter {
  if (quiet) return { update: () => {}, stop: () => {} };
  if (!stream.isTTY) {
    let last = '';
    return {
      update(stage) {
        if (stage !== last) {
          stream.write(`… ${stage}\n`);
          last = stage;
        }
      },
      stop() {},
    };
  }
  const bar = new SingleBar({
    stream,
    format: '{stage} [{bar}] {percentage}% | {duration_formatted}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    clearOnComplete: false,
  });
  let started = false;
  let current = '';
  return {
    update(stage, fraction) {
      const value = Math.round(Math.min(1, Math.max(0, fraction)) * 1000);
      if (!started) {
        bar.start(1000, value, { stage: stage.padEnd(10) });
        started = true;
      } else if (stage !== current) {
        bar.update(value, { stage: stage.padEnd(10) });
      } else bar.update(value);
      current = stage;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
