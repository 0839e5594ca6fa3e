import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues, issueFields } from '../../src/domain/zod-issues';

const issues = [
  { path: ['items', 0, 'itemId'], message: 'must not be empty' },
  { path: [], message: 'from must not be after to' },
  { path: ['k'], message: 'too big' },
  { path: ['x'], message: 'fourth' },
];

describe('formatIssues', () => {
  it('joins dotted paths and messages, "path message" by default', () => {
    expect(formatIssues([issues[0]!, issues[2]!])).toBe('items.0.itemId must not be empty; k too big');
  });

  it('takes the separator as an option ("VAR: message" for configuration)', () => {
    expect(formatIssues([issues[0]!, issues[2]!], { separator: ': ' })).toBe('items.0.itemId: must not be empty; k: too big');
  });

  it('names a root issue with the placeholder, or gives its message alone', () => {
    expect(formatIssues([issues[1]!], { emptyPath: '(input)' })).toBe('(input) from must not be after to');
    expect(formatIssues([issues[1]!])).toBe('from must not be after to');
  });

  it('keeps only the first issues when limited', () => {
    expect(formatIssues(issues, { limit: 1 })).toBe('items.0.itemId must not be empty');
    expect(formatIssues(issues, { limit: 3, emptyPath: '(record)' })).toBe('items.0.itemId must not be empty; (record) from must not be after to; k too big');
    expect(formatIssues(issues, { limit: 0 })).toBe('');
  });

  it('reads zod issues as they come', () => {
    const parsed = z.object({ a: z.string(), b: z.array(z.number()) }).safeParse({ a: 1, b: [1, 'x'] });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    expect(formatIssues(parsed.error.issues)).toMatch(/^a Invalid input: [^;]+; b\.1 Invalid input: /);
  });
});

describe('issueFields', () => {
  it('gives each issue its field, with the placeholder for the root', () => {
    expect(issueFields(issues.slice(0, 2), { emptyPath: '(event)' })).toEqual([
      { field: 'items.0.itemId', message: 'must not be empty' },
      { field: '(event)', message: 'from must not be after to' },
    ]);
  });

  it('turns symbol keys into text instead of throwing', () => {
    expect(issueFields([{ path: [Symbol('s'), 'x'], message: 'm' }])).toEqual([{ field: 'Symbol(s).x', message: 'm' }]);
  });
});
