import { describe, expect, it } from 'vitest';
import {
  asStepError,
  ConcurrentDeploymentError,
  CorruptObjectError,
  DataError,
  DataValidationError,
  describeError,
  isTransient,
  NoTrainingDataError,
  TransientError,
} from '../../src/retraining/errors';

const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' }, ...extra });

describe('error classification: only infrastructure errors are retried', () => {
  it('deterministic errors are never transient, whatever they wrap', () => {
    for (const err of [
      new DataError('row cannot be stored'),
      new DataValidationError('report'),
      new CorruptObjectError('models/production.json', 'not JSON'),
      new NoTrainingDataError('nothing'),
      new ConcurrentDeploymentError('moved'),
      // A data error caused by a throttled call is still a data error: the data decides.
      new DataError('row cannot be stored', { cause: sdkError('ThrottlingException', 400) }),
      sdkError('ValidationException', 400),
      new Error('Number 100000000000000000 is greater than Number.MAX_SAFE_INTEGER. Use NumberValue from @aws-sdk/lib-dynamodb.'),
      new RangeError('Maximum call stack size exceeded'),
      new SyntaxError('Unexpected token } in JSON'),
    ]) {
      expect(isTransient(err), `${err.name}: ${err.message}`).toBe(false);
      expect(asStepError(err).name, err.name).not.toBe('TransientError');
    }
  });

  it('throttling, 5xx and dropped connections are transient, also when wrapped', () => {
    for (const err of [
      sdkError('ThrottlingException', 400),
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('SlowDown', 503),
      sdkError('InternalServerError', 500),
      sdkError('Whatever', 429),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      new Error('bronze write failed', { cause: sdkError('SlowDown', 503) }),
      new TransientError('already classified'),
    ]) {
      expect(isTransient(err), `${err.name}: ${err.message}`).toBe(true);
      expect(asStepError(err).name).toBe('TransientError');
    }
  });

  it('the step error carries the cause chain: SDK name, status and request id', () => {
    const wrapped = new Error('exact feature rows could not be written', { cause: sdkError('ValidationException', 400) });
    expect(describeError(wrapped)).toBe('Error: exact feature rows could not be written ← caused by ValidationException: ValidationException happened (HTTP 400, request req-1)');
    expect(asStepError(wrapped).message).toContain('caused by ValidationException: ValidationException happened (HTTP 400');
    const transient = asStepError(new Error('list failed', { cause: sdkError('SlowDown', 503) }));
    expect(transient.message).toBe('Error: list failed ← caused by SlowDown: SlowDown happened (HTTP 503, request req-1)');
  });
});
