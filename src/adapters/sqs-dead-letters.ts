import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseDeadLetter, type DeadLetter, type DeadLetterSource } from '../stream/dead-letters';

/** An SQS client from the environment (region, credentials, `AWS_ENDPOINT_URL[_SQS]`). */
export function createSqsClient(): SQSClient {
  return new SQSClient({});
}

/**
 * A consumer's SQS dead-letter queue. Received letters stay invisible for `visibilitySeconds` while they
 * are replayed; a replayed letter is deleted, any other one comes back on the queue by itself.
 */
export class SqsDeadLetterSource implements DeadLetterSource {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly options: { visibilitySeconds?: number; onUnreadable?: (messageId: string, error: string) => void } = {},
  ) {}

  async receive(max: number): Promise<DeadLetter[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        WaitTimeSeconds: 1,
        VisibilityTimeout: this.options.visibilitySeconds ?? 900,
      }),
    );
    const letters: DeadLetter[] = [];
    for (const message of out.Messages ?? []) {
      try {
        letters.push(parseDeadLetter(message.Body ?? '', message.ReceiptHandle ?? message.MessageId ?? '?'));
      } catch (err) {
        this.options.onUnreadable?.(message.MessageId ?? '?', (err as Error).message);
      }
    }
    return letters;
  }

  async acknowledge(letter: DeadLetter): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: letter.id }));
  }
}
