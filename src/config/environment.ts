import type { z } from 'zod';
import { formatIssues } from '../domain/zod-issues';

/** The environment as the handlers see it (`process.env`, or what a test or the local runner passes). */
export type Env = Record<string, string | undefined>;

/**
 * Reads one function's configuration from the environment with its own schema. Every bad variable is named
 * in one error, `Invalid configuration (what): VAR: message; VAR: message`, so a cold start fails loudly.
 */
export function parseEnvironment<T extends z.ZodType>(schema: T, env: Env, what: string): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid configuration (${what}): ${formatIssues(parsed.error.issues, { separator: ': ' })}`);
  return parsed.data;
}

/** Empty variables count as unset (CDK and shells like to pass ""). */
export function withoutEmpty(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
}
