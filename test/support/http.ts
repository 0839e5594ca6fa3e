/** One HTTP call to a running API (the local server): status, headers, raw text and the JSON body if any. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const res = await fetch(`${baseUrl}${path}`, { method, body: init.body, headers: init.headers });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
