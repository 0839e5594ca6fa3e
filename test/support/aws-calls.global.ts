import type { TestProject } from 'vitest/node';
import { completeRecordingRun, startRecordingRun } from './aws-calls';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This run's folder for the handlers' recorded AWS calls (test/support/aws-calls.ts). */
    awsCallsDir: string;
  }
}

/** Each `vitest run` records the handlers' AWS calls in a folder of its own, marked complete at its end. */
export default function setup(project: TestProject): () => void {
  const dir = startRecordingRun();
  project.provide('awsCallsDir', dir);
  return () => completeRecordingRun(dir);
}
