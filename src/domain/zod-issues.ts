/**
 * The one way validation issues (zod's `error.issues`) become text: configuration errors, refused payloads
 * and refused events all name the field at fault the same way. Pure: no zod import, only the issues' shape.
 */

/** What is read of an issue: where it is (`path`) and what is wrong (`message`). zod's issues fit. */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export interface IssueFieldOptions {
  /** Named for an issue at the root (an empty path), e.g. `(input)`; by default such an issue has no field. */
  emptyPath?: string;
  /** Formats only the first `limit` issues (a payload may have thousands). */
  limit?: number;
}

export interface FormatIssuesOptions extends IssueFieldOptions {
  /** Between the field and its message: ' ' (`items.0 must be…`, the default) or ': ' (`LAKE_BUCKET: …`). */
  separator?: string;
}

/** Each issue as its dotted field (`items.0.itemId`) and message. */
export function issueFields(issues: readonly IssueLike[], options: IssueFieldOptions = {}): { field: string; message: string }[] {
  const kept = options.limit === undefined ? issues : issues.slice(0, Math.max(0, options.limit));
  return kept.map((issue) => ({ field: issue.path.length > 0 ? issue.path.map(String).join('.') : (options.emptyPath ?? ''), message: issue.message }));
}

/** `field message; field message`, one entry per issue (a root issue without `emptyPath` is its message alone). */
export function formatIssues(issues: readonly IssueLike[], options: FormatIssuesOptions = {}): string {
  const separator = options.separator ?? ' ';
  return issueFields(issues, options)
    .map(({ field, message }) => (field === '' ? message : `${field}${separator}${message}`))
    .join('; ');
}
