import { readFileSync } from 'node:fs';

/** The queue, stream and function of one consumer from a `cdk deploy --outputs-file` file. */
export function readOutputs(path: string, consumer: 'ingestion' | 'analytics'): { queueUrl?: string; stream?: string; functionName?: string } {
  const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  const stack = Object.values(all).find((o) => o.ConsumerDeadLetterQueueUrl !== undefined);
  if (!stack) throw new Error(`${path} has no stack with a ConsumerDeadLetterQueueUrl output: is it the outputs of this app's stack?`);
  return consumer === 'analytics'
    ? { queueUrl: stack.AnalyticsDeadLetterQueueUrl, stream: stack.EventsStreamName, functionName: stack.AnalyticsConsumerFunctionName }
    : { queueUrl: stack.ConsumerDeadLetterQueueUrl, stream: stack.EventsStreamName, functionName: stack.ConsumerFunctionName };
}
