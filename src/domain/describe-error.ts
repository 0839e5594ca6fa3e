/** What `describeError` reads of an error: the SDK's name, code and metadata, and the cause chain. */
type ErrorLike = { name?: string; message?: string; code?: string; cause?: unknown; errors?: unknown[]; $metadata?: { httpStatusCode?: number; requestId?: string } };

/**
 * One line for an error and every cause under it: `Name: message (HTTP 400, request …) ← caused by Name: message`.
 * Wrappers that drop the SDK's error name and message are what made `npm start` print nothing useful.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e !== undefined && e !== null && parts.length < 8 && !seen.has(e)) {
    seen.add(e);
    if (typeof e !== 'object') {
      parts.push(String(e));
      break;
    }
    const x = e as ErrorLike;
    const meta = x.$metadata;
    const extra = [meta?.httpStatusCode ? `HTTP ${meta.httpStatusCode}` : '', meta?.requestId ? `request ${meta.requestId}` : '', x.code && x.code !== x.name ? x.code : '']
      .filter(Boolean)
      .join(', ');
    const line = `${x.name ?? 'Error'}: ${x.message ?? ''}${extra ? ` (${extra})` : ''}`;
    // A wrapper whose message already repeats its cause need not print it twice.
    if (!parts.some((p) => p.includes(line))) parts.push(line);
    e = x.cause ?? (Array.isArray(x.errors) ? x.errors[0] : undefined);
  }
  return parts.join(' ← caused by ');
}

