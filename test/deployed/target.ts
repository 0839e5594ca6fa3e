import { existsSync, readFileSync } from 'node:fs';

/**
 * Where the deployed-pipeline suite runs:
 * - `RECSYS_OUTPUTS_FILE=cdk-outputs.json` (written by `cdk deploy --outputs-file`): a stack in AWS, or in
 *   LocalStack when AWS_ENDPOINT_URL is set too; `RECSYS_STACK` picks the stack (default: the first one);
 * - `RECSYS_API_URL=…` alone: any running API (e.g. `npm start` on another terminal);
 * - neither (CI): the embedded pipeline, started here on the in-process emulators.
 */
export interface Target {
  kind: 'deployed' | 'api' | 'embedded';
  apiUrl: string;
  /** Whether the API enforces IAM on admin routes (AWS and LocalStack do; the local server does not). */
  iamEnforced: boolean;
  stop(): Promise<void>;
}

export async function resolveTarget(): Promise<Target> {
  const outputsFile = process.env.RECSYS_OUTPUTS_FILE;
  if (outputsFile) {
    if (!existsSync(outputsFile)) throw new Error(`RECSYS_OUTPUTS_FILE ${outputsFile} does not exist: deploy with --outputs-file ${outputsFile}`);
    const all = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
    const stack = process.env.RECSYS_STACK ?? Object.keys(all)[0];
    const outputs = stack ? all[stack] : undefined;
    if (!outputs?.ApiUrl) throw new Error(`no ApiUrl output for stack ${stack} in ${outputsFile}`);
    return { kind: 'deployed', apiUrl: outputs.ApiUrl.replace(/\/$/, ''), iamEnforced: true, stop: async () => undefined };
  }
  if (process.env.RECSYS_API_URL) {
    return { kind: 'api', apiUrl: process.env.RECSYS_API_URL.replace(/\/$/, ''), iamEnforced: process.env.RECSYS_IAM_ENFORCED === 'true', stop: async () => undefined };
  }
  const { startTestPipeline } = await import('../support/pipeline');
  const { pipeline, stop } = await startTestPipeline({ events: 4000, users: 200, items: 120, seed: 11 });
  return {
    kind: 'embedded',
    apiUrl: pipeline.apiUrl,
    iamEnforced: false,
    stop,
  };
}
