/**
 * Errors the retraining steps raise on purpose. Step Functions matches on `name` (the Lambda error type):
 * `TransientError` is retried with backoff; every other error goes straight to the failure path.
 */
export class RetrainingError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The window's data is unusable; the message is the readable validation report. */
export class DataValidationError extends RetrainingError {
  constructor(message: string) {
    super('DataValidationError', message);
  }
}

/** There is nothing to train on (no Silver interactions in the training window). */
export class NoTrainingDataError extends RetrainingError {
  constructor(message: string) {
    super('NoTrainingDataError', message);
  }
}

/** Production changed between evaluation and deployment (a concurrent run or a manual rollback). */
export class ConcurrentDeploymentError extends RetrainingError {
  constructor(message: string) {
    super('ConcurrentDeploymentError', message);
  }
}

/** The API did not report the deployed version within the refresh bound. */
export class ReloadNotConfirmedError extends RetrainingError {
  constructor(message: string) {
    super('ReloadNotConfirmedError', message);
  }
}

/** A throttled or failed AWS call that is worth retrying from the state machine. */
export class TransientError extends RetrainingError {
  constructor(message: string) {
    super('TransientError', message);
  }
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/** True for errors a later attempt may not hit: throttling, 5xx, dropped connections. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e instanceof RetrainingError) return e instanceof TransientError;
  return (
    e.$retryable !== undefined ||
    TRANSIENT_NAMES.has(e.name ?? '') ||
    TRANSIENT_CODES.has(e.code ?? '') ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** What a step handler throws: transient failures renamed so the state machine's Retry matches them. */
export function asStepError(err: unknown): Error {
  if (isTransient(err)) {
    const e = err as Error;
    return new TransientError(`${e.name}: ${e.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
