import { ReloadNotConfirmedError } from './errors';

export interface ReloadOptions {
  /** Base URL of the API; `GET {apiBaseUrl}/health` answers JSON with `modelVersion`. */
  apiBaseUrl: string | undefined;
  version: string;
  /**
   * What must report `version`: `production` (GET /health `modelVersion`, the default) or `challenger` (a
   * canary: `experiment.challengerVersion` with `experiment.challengerLoaded` true).
   */
  target?: 'production' | 'challenger';
  /** The serving side's refresh bound (every instance re-reads the pointer at least this often). */
  refreshSeconds: number;
  marginSeconds: number;
  pollIntervalMs: number;
  parallelRequests: number;
  consecutiveAnswers: number;
  requestTimeoutMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** One shape whether skipped or confirmed, so the state machine can select its fields either way. */
export interface ReloadResult {
  skipped: boolean;
  reason: string;
  confirmedVersion: string | null;
  answers: number;
  staleAnswers: number;
  failedRequests: number;
  seconds: number;
  boundSeconds: number;
}

/**
 * Serving instances reload on their own: each re-checks models/production.json (conditional GET on its
 * ETag) at least every `refreshSeconds`. This confirms it: it samples `/health` with several concurrent
 * requests per poll (so several instances answer) until `consecutiveAnswers` answers in a row report the
 * deployed version, and fails once `refreshSeconds + marginSeconds` have passed without that.
 */
export async function confirmReload(options: ReloadOptions): Promise<ReloadResult> {
  const boundSeconds = options.refreshSeconds + options.marginSeconds;
  if (!options.apiBaseUrl) {
    return { skipped: true, reason: 'API_BASE_URL is not configured: no API to confirm', confirmedVersion: null, answers: 0, staleAnswers: 0, failedRequests: 0, seconds: 0, boundSeconds };
  }
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const url = `${options.apiBaseUrl.replace(/\/+$/, '')}/health`;
  const target = options.target ?? 'production';
  const what = target === 'challenger' ? `challenger ${options.version} loaded` : options.version;
  const started = Date.now();
  const deadline = started + boundSeconds * 1000;
  let consecutive = 0;
  let answers = 0;
  let staleAnswers = 0;
  let failedRequests = 0;
  const seen = new Map<string, number>();

  for (let poll = 0; ; poll++) {
    const batch = await Promise.all(
      Array.from({ length: options.parallelRequests }, async (_, i) => {
        try {
          const res = await doFetch(`${url}?probe=${poll}-${i}`, { headers: { 'cache-control': 'no-cache' }, signal: AbortSignal.timeout(options.requestTimeoutMs) });
          if (!res.ok) return { error: `HTTP ${res.status}` };
          const body = (await res.json()) as { modelVersion?: unknown; experiment?: { challengerVersion?: unknown; challengerLoaded?: unknown } | null };
          if (target === 'challenger') {
            const e = body.experiment;
            return { version: e && e.challengerLoaded === true && typeof e.challengerVersion === 'string' ? e.challengerVersion : null };
          }
          return { version: typeof body.modelVersion === 'string' ? body.modelVersion : null };
        } catch (err) {
          return { error: (err as Error).message };
        }
      }),
    );
    for (const answer of batch) {
      if ('error' in answer) {
        failedRequests += 1;
        consecutive = 0;
        continue;
      }
      answers += 1;
      seen.set(String(answer.version), (seen.get(String(answer.version)) ?? 0) + 1);
      if (answer.version === options.version) consecutive += 1;
      else {
        staleAnswers += 1;
        consecutive = 0;
      }
      if (consecutive >= options.consecutiveAnswers) {
        const seconds = (Date.now() - started) / 1000;
        const reason = `${consecutive} consecutive answers report ${what} after ${seconds.toFixed(1)}s (bound ${boundSeconds}s)`;
        return { skipped: false, reason, confirmedVersion: options.version, answers, staleAnswers, failedRequests, seconds, boundSeconds };
      }
    }
    if (Date.now() + options.pollIntervalMs > deadline) break;
    await sleep(options.pollIntervalMs);
  }
  const versions = [...seen].map(([v, c]) => `${v} ×${c}`).join(', ') || 'none';
  throw new ReloadNotConfirmedError(
    `the API did not report ${what} in ${options.consecutiveAnswers} consecutive answers within ${boundSeconds}s ` +
      `(refresh ${options.refreshSeconds}s + margin ${options.marginSeconds}s): ${answers} answers (versions seen: ${versions}), ${failedRequests} failed requests`,
  );
}
