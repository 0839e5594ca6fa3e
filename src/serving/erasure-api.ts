import { randomUUID } from 'node:crypto';
import type { UserRowEraser } from '../adapters/dynamo-erasure';
import { encodeJson } from '../domain/lake-layout';
import { isErasableUserId, newErasureRequest, shortHash } from '../erasure/request';
import type { LakeWriter } from '../stream/ports';
import { HttpError, json, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { RouteImplementation } from './read-api';
import type { RouteId } from './routes';

export interface ErasureApiDeps {
  /** Removes the user's feature and analytics-identity rows (src/adapters/dynamo-erasure.ts). */
  rows: UserRowEraser;
  /** Where the request is recorded for the nightly EraseUsers step. */
  lake: Pick<LakeWriter, 'putObject'>;
  log?: ServingLog;
  now?: () => Date;
}

/** What `DELETE /admin/users/{userId}` answers (202: the lake and the models follow with the next nightly run). */
export interface ErasureAnswer {
  requestId: string;
  /** SHA-256 of the user id: what the lake's erasure keys and reports name. */
  userHash: string;
  removedRows: { features: number; analytics: number };
  requestKey: string;
  pending: 'lake and models: next nightly run';
}

/**
 * `DELETE /admin/users/{userId}` (IAM only): removes the user's DynamoDB rows now and records the request in the
 * lake (`reports/erasure/requests/<time>-<sha256>.json`, the one object that holds the id, deleted once the
 * nightly step has erased the user). Idempotent: a repeat removes whatever came back since and records one more
 * request, which the nightly step folds into the same user. Logs and metrics carry the hash, never the id.
 */
export class ErasureApi {
  constructor(private readonly deps: ErasureApiDeps) {}

  routes(): Partial<Record<RouteId, RouteImplementation>> {
    return { eraseUser: (r) => this.erase(r) };
  }

  async erase(request: ApiRequest): Promise<ApiResponse> {
    if (!request.caller) {
      this.deps.log?.warn('refused an erasure without a verified caller', { route: 'DELETE /admin/users/{userId}', requestId: request.requestId });
      throw new HttpError(403, 'FORBIDDEN', 'DELETE /admin/users/{userId} needs an IAM-authorised (SigV4-signed) request');
    }
    const userId = request.params.userId ?? '';
    if (!isErasableUserId(userId)) {
      throw new HttpError(400, 'INVALID_USER_ID', 'userId must be 1-128 characters of letters, digits or . _ : @ + = ~ - (the event contract\'s id rule): no such user can be stored', 'userId');
    }
    const now = (this.deps.now ?? (() => new Date()))();
    const requestId = randomUUID();
    // Rows first: if the lake write fails the caller retries, and the repeat finds the rows gone already.
    const removedRows = await this.deps.rows.eraseUser(userId);
    const { key, request: record } = newErasureRequest(userId, now, request.caller, removedRows, requestId);
    await this.deps.lake.putObject(key, encodeJson(record), 'application/json');
    this.deps.log?.info('user erasure requested', { requestId: request.requestId, erasureRequestId: requestId, userHash: shortHash(record.userHash), removedRows, caller: request.caller });
    const answer: ErasureAnswer = { requestId, userHash: record.userHash, removedRows, requestKey: key, pending: 'lake and models: next nightly run' };
    return json(202, answer, { 'Cache-Control': 'no-store' });
  }
}
