import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPipeline } from '../../src/local/pipeline';
import { clearPipelineEnvironment } from './clean-env';

export interface TestPipeline {
  pipeline: LocalPipeline;
  /** Stops the pipeline and deletes its data. */
  stop(): Promise<void>;
}

/**
 * `npm start`'s pipeline on its own emulators and a throw-away data folder, quiet, on a free port, with the
 * given generated data (or a ratings file to replay); resolves once the first model is deployed and served.
 */
export async function startTestPipeline(
  data: { events: number; users: number; items: number; seed: number; ratingsFile?: string; itemsFile?: string },
  options: { liveRate?: number } = {},
): Promise<TestPipeline> {
  const dir = await mkdtemp(join(tmpdir(), 'recsys-pipeline-'));
  clearPipelineEnvironment();
  const pipeline = new LocalPipeline({ dataDir: dir, fresh: true, port: 0, host: '127.0.0.1', ...data, rate: 0, liveRate: options.liveRate ?? 0, retrainEveryMinutes: 0, analytics: true, log: () => undefined });
  await pipeline.start();
  return {
    pipeline,
    async stop() {
      await pipeline.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
