import { describeError } from '../domain/describe-error';

/**
 * Errors the retraining steps raise on purpose. Step Functions matches on `name` (the Lambda error type):
 * only `TransientError` (throttling, 5xx, dropped connections) is retried with backoff; every other error,
 * in particular the deterministic ones below, goes straight to the failure path.
 */
export class RetrainingError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** The window's data is unusable; the message is the readable validation report. Not retried. */
export class DataValidationError extends RetrainingError {
  constructor(message: string) {
    super('DataValidationError', message);
  }
}

/**
 * Deterministic: the same input fails the same way on every attempt (a row or object derived from client
 * data that no store can hold, an invariant broken by the data). Not retried.
 */
export class DataError extends RetrainingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DataError', message, options);
  }
}

/** An object in the lake (manifest, artifact, report, pointer) cannot be read back; names its key. Not retried. */
export class CorruptObjectError extends RetrainingError {
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CorruptObjectError', message, options);
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

/** A throttled or failed AWS call (or a dropped connection) that is worth retrying from the state machine. */
export class TransientError extends RetrainingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TransientError', message, options);
  }
}

/** The only error name the state machine's Retry may match besides the Lambda service's own errors. */
export const RETRIED_ERROR_NAMES = ['TransientError'] as const;

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'NetworkingError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET']);

type ErrorLike = { name?: string; message?: string; code?: string; cause?: unknown; $retryable?: unknown; $fault?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };

/**
 * True for errors a later attempt may not hit: throttling, 5xx, dropped connections — looked for along the
 * `cause` chain, so a wrapper around an SDK error is classified by the SDK error. Deterministic errors
 * (`DataError`, `CorruptObjectError`, validation, 4xx) are never transient.
 */
export function isTransient(err: unknown): boolean {
  for (let e = err as ErrorLike | undefined, depth = 0; e && typeof e === 'object' && depth < 8; e = e.cause as ErrorLike | undefined, depth++) {
    if (e instanceof RetrainingError) return e instanceof TransientError;
    const status = e.$metadata?.httpStatusCode ?? 0;
    if (
      e.$retryable !== undefined ||
      TRANSIENT_NAMES.has(e.name ?? '') ||
      TRANSIENT_CODES.has(e.code ?? '') ||
      status >= 500 ||
      status === 429
    ) {
      return true;
    }
  }
  return false;
}

export { describeError };

/** What a step handler throws: transient failures renamed so the state machine's Retry matches them. */
export function asStepError(err: unknown): Error {
  if (isTransient(err)) {
    if (err instanceof TransientError) return err;
    return new TransientError(describeError(err), { cause: err });
  }
  if (!(err instanceof Error)) return new Error(String(err));
  // Keep the name (the state machine's Error), but let the message (its Cause) carry the causes too.
  if (err.cause !== undefined) {
    const described = describeError(err.cause);
    if (!err.message.includes(described)) err.message = `${err.message} ← caused by ${described}`;
  }
  return err;
}
