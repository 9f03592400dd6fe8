import assert from 'node:assert/strict';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** How a request reaches the API: over HTTP, or through Fastify's inject() in this process. */
export type Transport = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
) => Promise<{ status: number; headers: Headers; text: string }>;

export const httpTransport =
  (baseUrl: string): Transport =>
  async (method, path, headers, body) => {
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

/** A thin wrapper for the tests: JSON in, JSON (or text) out, never throws on an HTTP status. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | undefined,
    private readonly transport: Transport = httpTransport(baseUrl),
  ) {}

  withKey(apiKey: string | undefined): ApiClient {
    return new ApiClient(this.baseUrl, apiKey, this.transport);
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const sent: Record<string, string> = { ...headers };
    if (this.apiKey) sent.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) sent['content-type'] ??= 'application/json';
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await this.transport(method, path, sent, payload);
    let parsed: unknown = response.text;
    if ((response.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(response.text);
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  create(body: unknown): Promise<ApiResponse> {
    return this.request('POST', '/v2/artworks/face-refiner', body);
  }

  get(id: string): Promise<ApiResponse> {
    return this.request('GET', `/v2/artworks/${id}`);
  }

  /** Polls until the artwork has one of `statuses`; fails the test after `timeoutMs`. */
  async waitForStatus(id: string, statuses: string[], timeoutMs = 60_000, pollMs = 100): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      const response = await this.get(id);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      last = response.body;
      if (statuses.includes((response.body as { status: string }).status)) return response.body;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    throw new Error(`artwork ${id} did not reach ${statuses.join('|')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }
}

/** Asserts the contract's error body: {message, statusCode, error} and nothing more. */
export function assertErrorBody(response: ApiResponse, status: number, messagePattern?: RegExp): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  const body = response.body as { message: unknown; statusCode: unknown; error: unknown };
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message', 'statusCode']);
  assert.equal(body.statusCode, status);
  assert.equal(typeof body.error, 'string');
  assert.ok(typeof body.message === 'string' || Array.isArray(body.message));
  if (messagePattern) {
    const text = Array.isArray(body.message) ? body.message.join('\n') : String(body.message);
    assert.match(text, messagePattern);
  }
}
