/**
 * Names the real causes of a batch's failed records, for the handler's error (when every record failed) and
 * for what a dead letter records: each distinct cause once, with the sequence numbers it hit, bounded.
 */

/**
 * Where a consumer handler puts the summary of its failed records on a partial batch response. A symbol key:
 * JSON (what Lambda sends back to the event source mapping) never shows it; the local event source poller
 * reads it to write the cause into its dead letters.
 */
export const FAILURE_CAUSES: unique symbol = Symbol.for('recsys.batchFailureCauses') as never;

const MAX_SEQUENCES_PER_CAUSE = 3;
export const MAX_SUMMARY_LENGTH = 2000;

/** A reason may end with where it happened, `(row …)`, `(object …)` or `(partition …)`: causes are grouped without it. */
const WHERE = / \((row|object|partition) ([^)]*)\)$/;

export function summarizeFailures(failures: ReadonlyMap<string, string>, total?: number, maxLength = MAX_SUMMARY_LENGTH): string {
  const byCause = new Map<string, { seqs: string[]; where: Set<string>; kind?: string }>();
  for (const [seq, reason] of failures) {
    const m = WHERE.exec(reason);
    const cause = m ? reason.slice(0, m.index) : reason;
    let g = byCause.get(cause);
    if (!g) byCause.set(cause, (g = { seqs: [], where: new Set(), kind: m?.[1] }));
    g.seqs.push(seq);
    if (m) g.where.add(m[2]!);
  }
  const list = (xs: string[]) => xs.slice(0, MAX_SEQUENCES_PER_CAUSE).join(', ') + (xs.length > MAX_SEQUENCES_PER_CAUSE ? ` and ${xs.length - MAX_SEQUENCES_PER_CAUSE} more` : '');
  const parts = [...byCause].map(([cause, g]) => {
    const where = g.where.size > 0 ? `; ${g.kind}${g.where.size > 1 ? 's' : ''} ${list([...g.where])}` : '';
    return `${cause.slice(0, 400)} (record${g.seqs.length > 1 ? 's' : ''} ${list(g.seqs)}${where})`;
  });
  let text = `${failures.size}${total === undefined ? '' : ` of ${total}`} record${failures.size === 1 ? '' : 's'} failed: ${parts.join('; ')}`;
  if (text.length > maxLength) {
    const cut = text.slice(0, maxLength - 40);
    text = `${cut}… (${byCause.size} distinct causes)`;
  }
  return text;
}

/** Thrown by a consumer when every record of its batch failed (so the event source mapping bisects it). */
export class BatchFailedError extends Error {
  override name = 'BatchFailedError';
}
