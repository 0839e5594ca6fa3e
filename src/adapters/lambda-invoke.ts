import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** A Lambda client from the environment (region, credentials, `AWS_ENDPOINT_URL[_LAMBDA]`). */
export function createLambdaClient(): LambdaClient {
  return new LambdaClient({});
}

/**
 * Invokes a function synchronously with `payload` as JSON; resolves with its parsed JSON answer (undefined
 * when it returned nothing or null), throws when the function failed, naming the function and its error.
 */
export async function invokeFunction(lambda: LambdaClient, functionName: string, payload: unknown): Promise<unknown> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) throw new Error(`${functionName} failed (${out.FunctionError}): ${text.slice(0, 300)}`);
  return text ? ((JSON.parse(text) as unknown) ?? undefined) : undefined;
}
