import { z } from 'zod';
import type { ParquetFieldDefinition } from 'parquetjs-lite';
import type { UserRowEraser } from '../adapters/dynamo-erasure';
import {
  BRONZE_EVENTS_PREFIX,
  BRONZE_QUARANTINE_PREFIX,
  ERASURE_PREFIX,
  ERASURE_REQUESTS_PREFIX,
  erasureDoneKey,
  erasureRunReportKey,
  isModelVersion,
  LAKE_AREAS,
  MODELS_PREFIX,
  parseErasureRequestKey,
  PRODUCTION_POINTER_KEY,
  SILVER_BATCH_PREFIX,
  SILVER_INTERACTIONS_PREFIX,
  SILVER_USER_FEATURES_PREFIX,
  encodeJson,
  MANIFEST_FILE,
  PAYLOAD_FILE,
} from '../domain/lake-layout';
import { parseProductionPointer } from '../domain/model-registry';
import { erasureModelRetentionDays, parseErasureRequest, shortHash, type ErasureDone, type ErasureRequest } from '../erasure/request';
import { erasedUsersInModel, isErasedEventLine, isErasedQuarantineLine, mentionsAny, mentionsId, redactUsers, rewriteLines, rowsWithoutUsers, type ErasedUsers } from '../erasure/rewrite';
import type { RetrainingDeps } from './deps';
import { getJson, mapLimit, putJson, type RetrainingLake } from './lake';
import { sanitizeRunId } from './run-window';
import { parquetColumns, readParquet, writeParquet, type ParquetColumns } from './parquet';
import { INTERACTION_COLUMNS, toParquetRow, USER_FEATURE_COLUMNS } from './silver';

/**
 * EraseUsers, the first state of the nightly retraining: carries out the pending erasure requests that
 * `DELETE /admin/users/{userId}` recorded, before anything reads the lake, so the run's Silver, features and model
 * are built without the erased users.
 *
 * - Bronze (`bronze/events/`, `bronze/_quarantine/`, quarantined records decoded from `dataBase64`): every object
 *   holding a line of an erased user is rewritten without those lines, the other lines byte for byte (an object left
 *   empty is deleted); objects without one are not written.
 * - Silver: every Parquet file under `silver/` with a `user_id` column (interactions in both layouts, every
 *   user_features snapshot, batch outputs) holding a row of an erased user is rewritten without those rows (same
 *   columns, same types; an emptied file is deleted).
 * - Reports (`reports/`, the erasure area aside): every JSON object mentioning an erased user is rewritten with the
 *   mention replaced by `[erased]`.
 * - Models: a version (`models/v…/`) whose payload or JSON files hold an erased user is deleted once its request is
 *   `retentionDays` old, except production and a running experiment's challenger: those are replaced by the next
 *   deploy, and the request waits until then.
 * - The users' DynamoDB rows are removed again (a run in flight when the request came may have rewritten them).
 * A request is done when nothing of its user is left: its objects (the only ones holding the id) are deleted and
 * `reports/erasure/done/<sha256>.json` records it. Idempotent: a rerun finds nothing left to drop. Objects are
 * read one at a time per worker (`concurrency`), so memory is bounded by the largest object, not the lake.
 * Nothing it returns, logs or writes holds an id: hashes and counts only.
 */
export interface EraseUsersDeps {
  lake: RetrainingLake;
  rows?: UserRowEraser | undefined;
  /** ERASURE_MODEL_RETENTION_DAYS. */
  retentionDays: number;
  now?: () => Date;
  /** Objects processed at once (default 4). */
  concurrency?: number;
}

export type ErasureWait = 'production' | 'challenger' | 'retention';

export interface EraseUsersResult {
  /** Request objects read, and those that are not requests (left alone, named in the report by key). */
  requests: number;
  invalidRequests: string[];
  users: number;
  featureRowsRemoved: number;
  analyticsRowsRemoved: number;
  bronze: { objectsRead: number; objectsRewritten: number; objectsDeleted: number; linesDropped: number };
  silver: { filesRead: number; filesRewritten: number; filesDeleted: number; rowsDropped: number };
  reports: { objectsRedacted: number };
  models: { versionsChecked: number; versionsDeleted: string[]; versionsKept: { version: string; reason: ErasureWait }[] };
  /** Users whose erasure is complete (their request objects deleted), and those still waiting, by hash prefix. */
  done: number;
  waiting: { userHash: string; reason: ErasureWait }[];
  reportKey: string | null;
  durationMs: number;
}

interface PendingUser {
  userId: string;
  userHash: string;
  requests: { key: string; request: ErasureRequest }[];
  firstRequestedAtMs: number;
}

const DAY_MS = 86_400_000;

export async function eraseUsers(runId: string, deps: EraseUsersDeps): Promise<EraseUsersResult> {
  const started = performance.now();
  const now = (deps.now ?? (() => new Date()))();
  const limit = deps.concurrency ?? 4;
  const { lake } = deps;
  const result: EraseUsersResult = {
    requests: 0,
    invalidRequests: [],
    users: 0,
    featureRowsRemoved: 0,
    analyticsRowsRemoved: 0,
    bronze: { objectsRead: 0, objectsRewritten: 0, objectsDeleted: 0, linesDropped: 0 },
    silver: { filesRead: 0, filesRewritten: 0, filesDeleted: 0, rowsDropped: 0 },
    reports: { objectsRedacted: 0 },
    models: { versionsChecked: 0, versionsDeleted: [], versionsKept: [] },
    done: 0,
    waiting: [],
    reportKey: null,
    durationMs: 0,
  };

  const pending = await readPending(lake, result);
  result.users = pending.size;
  if (pending.size === 0) return { ...result, durationMs: Math.round(performance.now() - started) };
  const users: ErasedUsers = new Set([...pending.values()].map((p) => p.userId));

  if (deps.rows) {
    for (const p of pending.values()) {
      const removed = await deps.rows.eraseUser(p.userId);
      result.featureRowsRemoved += removed.features;
      result.analyticsRowsRemoved += removed.analytics;
    }
  }

  await eraseBronze(lake, users, limit, result);
  await eraseSilver(lake, users, limit, result);
  await redactReports(lake, users, limit, result);
  const waits = await eraseModels(lake, pending, now, deps.retentionDays, result);

  for (const p of pending.values()) {
    const reason = waits.get(p.userId);
    if (reason) {
      result.waiting.push({ userHash: shortHash(p.userHash), reason });
      continue;
    }
    const doneKey = erasureDoneKey(p.userHash);
    const previous = await getJson<ErasureDone>(lake, doneKey);
    const done: ErasureDone = {
      formatVersion: 1,
      userHash: p.userHash,
      requestIds: [...new Set([...(previous?.requestIds ?? []), ...p.requests.map((r) => r.request.requestId)])],
      firstRequestedAt: previous?.firstRequestedAt ?? new Date(p.firstRequestedAtMs).toISOString(),
      doneAt: now.toISOString(),
      runId,
    };
    await putJson(lake, doneKey, done);
    // Last: the request objects are the only ones holding the id, and they are what a rerun needs until here.
    for (const r of p.requests) await lake.deleteObject(r.key);
    result.done += 1;
  }

  result.reportKey = erasureRunReportKey(runId);
  result.durationMs = Math.round(performance.now() - started);
  await lake.putObject(result.reportKey, encodeJson({ runId, at: now.toISOString(), retentionDays: deps.retentionDays, ...result }), 'application/json');
  return result;
}

async function readPending(lake: RetrainingLake, result: EraseUsersResult): Promise<Map<string, PendingUser>> {
  const pending = new Map<string, PendingUser>();
  for (const key of (await lake.listKeys(ERASURE_REQUESTS_PREFIX)).sort()) {
    result.requests += 1;
    const parsedKey = parseErasureRequestKey(key);
    let request: ErasureRequest | undefined;
    try {
      request = parsedKey ? parseErasureRequest(await getJson<unknown>(lake, key)) : undefined;
    } catch {
      request = undefined;
    }
    if (!parsedKey || !request || request.userHash !== parsedKey.userHash) {
      result.invalidRequests.push(key);
      continue;
    }
    const requestedAtMs = Date.parse(request.requestedAt);
    let user = pending.get(request.userHash);
    if (!user) pending.set(request.userHash, (user = { userId: request.userId, userHash: request.userHash, requests: [], firstRequestedAtMs: requestedAtMs }));
    user.requests.push({ key, request });
    if (requestedAtMs < user.firstRequestedAtMs) user.firstRequestedAtMs = requestedAtMs;
  }
  return pending;
}

async function eraseBronze(lake: RetrainingLake, users: ErasedUsers, limit: number, result: EraseUsersResult): Promise<void> {
  for (const [prefix, erased] of [
    [BRONZE_EVENTS_PREFIX, isErasedEventLine],
    [BRONZE_QUARANTINE_PREFIX, isErasedQuarantineLine],
  ] as const) {
    const keys = await lake.listKeys(prefix);
    await mapLimit(keys, limit, async (key) => {
      const text = await lake.getText(key);
      if (text === undefined) return;
      result.bronze.objectsRead += 1;
      // A valid line names its user literally (Bronze lines are JSON.stringify output): no mention, nothing to drop.
      if (prefix === BRONZE_EVENTS_PREFIX && !mentionsAny(text, users)) return;
      const rewrite = rewriteLines(text, (line) => erased(line, users));
      if (rewrite.dropped === 0) return;
      result.bronze.linesDropped += rewrite.dropped;
      if (rewrite.kept === 0) {
        await lake.deleteObject(key);
        result.bronze.objectsDeleted += 1;
      } else {
        await lake.putObject(key, rewrite.text, 'application/x-ndjson');
        result.bronze.objectsRewritten += 1;
      }
    });
  }
}

const PHYSICAL: Record<string, ParquetFieldDefinition['type']> = { BYTE_ARRAY: 'UTF8', INT64: 'INT64', INT32: 'INT32', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN' };

/** The file's own columns, in its order, with the Silver definitions where they apply (so the rewrite keeps the schema). */
function columnsOf(key: string, bytes: Uint8Array): ParquetColumns | undefined {
  const known: ParquetColumns = key.startsWith(SILVER_INTERACTIONS_PREFIX) ? INTERACTION_COLUMNS : key.startsWith(SILVER_USER_FEATURES_PREFIX) ? USER_FEATURE_COLUMNS : {};
  const out: ParquetColumns = {};
  for (const c of parquetColumns(bytes)) {
    const def = Object.hasOwn(known, c.name) ? known[c.name] : undefined;
    const type = def?.type ?? (c.type ? PHYSICAL[c.type] : undefined);
    if (!type) return undefined;
    out[c.name] = { ...(def ?? {}), type, ...(c.optional ? { optional: true } : {}) };
  }
  return out;
}

async function eraseSilver(lake: RetrainingLake, users: ErasedUsers, limit: number, result: EraseUsersResult): Promise<void> {
  const keys = (await lake.listKeys(LAKE_AREAS.silver)).filter((k) => k.endsWith('.parquet'));
  await mapLimit(keys, limit, async (key) => {
    // Earlier runs' batch outputs (checked Bronze lines, feature and interaction tables) are scratch no later step
    // reads, and may hold a user's id in raw text: deleted whole (this run's own start empty, after this step).
    if (key.startsWith(SILVER_BATCH_PREFIX)) {
      await lake.deleteObject(key);
      result.silver.filesDeleted += 1;
      return;
    }
    const bytes = await lake.getBytes(key);
    if (bytes === undefined) return;
    result.silver.filesRead += 1;
    const columns = columnsOf(key, bytes);
    if (!columns || !Object.hasOwn(columns, 'user_id')) return;
    const { rows, dropped } = rowsWithoutUsers(await readParquet(bytes), users);
    if (dropped === 0) return;
    result.silver.rowsDropped += dropped;
    if (rows.length === 0) {
      await lake.deleteObject(key);
      result.silver.filesDeleted += 1;
      return;
    }
    await lake.putObject(key, await writeParquet(columns, rows.map(toParquetRow)), 'application/vnd.apache.parquet');
    result.silver.filesRewritten += 1;
  });
}

async function redactReports(lake: RetrainingLake, users: ErasedUsers, limit: number, result: EraseUsersResult): Promise<void> {
  const keys = (await lake.listKeys(LAKE_AREAS.reports)).filter((k) => !k.startsWith(ERASURE_PREFIX));
  await mapLimit(keys, limit, async (key) => {
    const text = await lake.getText(key);
    if (text === undefined || !mentionsAny(text, users)) return;
    let value: unknown;
    let json = true;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      json = false;
      value = text;
    }
    const redacted = redactUsers(value, users);
    if (!redacted.changed) return;
    await lake.putObject(key, json ? encodeJson(redacted.value) : String(redacted.value), json ? 'application/json' : 'text/plain');
    result.reports.objectsRedacted += 1;
  });
}

/** Deletes the versions that hold an erased user and may go; says, per user, why it must wait. */
async function eraseModels(lake: RetrainingLake, pending: Map<string, PendingUser>, now: Date, retentionDays: number, result: EraseUsersResult): Promise<Map<string, ErasureWait>> {
  const waits = new Map<string, ErasureWait>();
  const users: ErasedUsers = new Set([...pending.values()].map((p) => p.userId));
  const firstRequestedAt = new Map([...pending.values()].map((p) => [p.userId, p.firstRequestedAtMs]));
  const protectedVersions = new Map<string, ErasureWait>();
  const pointerText = await lake.getText(PRODUCTION_POINTER_KEY);
  if (pointerText !== undefined) {
    const pointer = parseProductionPointer(pointerText);
    protectedVersions.set(pointer.version, 'production');
    if (pointer.experiment) protectedVersions.set(pointer.experiment.challenger.version, 'challenger');
  }
  const byVersion = new Map<string, string[]>();
  for (const key of await lake.listKeys(MODELS_PREFIX)) {
    const version = key.slice(MODELS_PREFIX.length).split('/')[0]!;
    if (!isModelVersion(version) || !key.startsWith(`${MODELS_PREFIX}${version}/`)) continue;
    let keys = byVersion.get(version);
    if (!keys) byVersion.set(version, (keys = []));
    keys.push(key);
  }
  for (const [version, keys] of [...byVersion].sort(([a], [b]) => a.localeCompare(b))) {
    result.models.versionsChecked += 1;
    const found = new Set<string>();
    let manifest: unknown;
    for (const key of keys.filter((k) => k.endsWith('.json'))) {
      const text = (await lake.getText(key)) ?? '';
      for (const id of users) if (mentionsId(text, id)) found.add(id);
      if (key.endsWith(`/${MANIFEST_FILE}`)) {
        try {
          manifest = JSON.parse(text) as unknown;
        } catch {
          manifest = undefined;
        }
      }
    }
    const payloadKey = keys.find((k) => k.endsWith(`/${PAYLOAD_FILE}`));
    if (payloadKey) for (const id of erasedUsersInModel(manifest, await lake.getBytes(payloadKey), users)) found.add(id);
    if (found.size === 0) continue;
    const guard = protectedVersions.get(version);
    const due = [...found].some((id) => now.getTime() - (firstRequestedAt.get(id) ?? now.getTime()) >= retentionDays * DAY_MS);
    const reason: ErasureWait | undefined = guard ?? (due ? undefined : 'retention');
    if (reason) {
      result.models.versionsKept.push({ version, reason });
      for (const id of found) if (waits.get(id) !== 'production' && waits.get(id) !== 'challenger') waits.set(id, reason);
      continue;
    }
    // The payload last: a run interrupted here never leaves a manifest that points at a missing payload.
    for (const key of keys.sort((a, b) => Number(a.endsWith(`/${PAYLOAD_FILE}`)) - Number(b.endsWith(`/${PAYLOAD_FILE}`)))) await lake.deleteObject(key);
    result.models.versionsDeleted.push(version);
  }
  return waits;
}

/**
 * The EraseUsers Task's Payload (`executionName`, `startTime`, as ValidateData gets them): the run id is the
 * execution's, as every other step's. `rows` removes the users' DynamoDB rows (the Lambda builds it from
 * FEATURES_TABLE and ANALYTICS_TABLE).
 */
export async function eraseUsersStep(payload: unknown, deps: RetrainingDeps, rows: UserRowEraser | undefined, env: Record<string, string | undefined> = process.env): Promise<EraseUsersResult> {
  const parsed = z.object({ executionName: z.string().min(1), startTime: z.string() }).safeParse(payload);
  if (!parsed.success) throw new Error('EraseUsers: invalid payload: needs { executionName, startTime }');
  return eraseUsers(sanitizeRunId(parsed.data.executionName), { lake: deps.lake, rows, retentionDays: erasureModelRetentionDays(env) });
}
