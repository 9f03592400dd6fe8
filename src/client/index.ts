/**
 * A typed client for the Face Refiner API (and the published API it implements). No dependencies beyond
 * `fetch` and, for webhook verification, `standardwebhooks`.
 */
import { Webhook } from 'standardwebhooks';
import type { z } from 'zod';
import type { artworkResponse, createArtworkBody, errorBody, listArtworksQuery } from '../api/schemas.js';

// The types are the API's own declarations (src/api/schemas.ts), so they cannot drift from what the server
// validates and answers; type-only imports, so the client carries no validation code.
export type Artwork = z.output<typeof artworkResponse>;
/** What `create` sends: null or absent optional fields take the server's defaults. */
export type CreateParams = z.input<typeof createArtworkBody>;
export type ListOptions = Partial<z.output<typeof listArtworksQuery>>;
export type ErrorBody = z.output<typeof errorBody>;

export interface CreateOptions {
  /** Retrying with the same key never creates a second artwork. */
  idempotencyKey?: string;
  /** Hold the answer until the artwork is final or this many seconds pass (within the API's PREFER_WAIT). */
  waitSeconds?: number;
}

/** An error answer: `status` and the API's {message, statusCode, error} body. */
export class FaceRefinerError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(Array.isArray(body.message) ? body.message.join('; ') : body.message);
    this.name = 'FaceRefinerError';
  }
}

const FINAL = new Set(['succeeded', 'failed', 'canceled']);

export class FaceRefinerClient {
  private readonly baseUrl: string;

  constructor(private readonly options: { baseUrl: string; apiKey: string; fetch?: typeof fetch }) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await (this.options.fetch ?? fetch)(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const retryAfter = response.headers.get('retry-after');
      throw new FaceRefinerError(
        response.status,
        parsed as FaceRefinerError['body'],
        retryAfter === null ? undefined : Number(retryAfter),
      );
    }
    return parsed as T;
  }

  create(params: CreateParams, options: CreateOptions = {}): Promise<Artwork> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.waitSeconds) headers.prefer = `wait=${options.waitSeconds}`;
    return this.call('POST', '/v2/artworks/face-refiner', params, headers);
  }

  get(id: string): Promise<Artwork> {
    return this.call('GET', `/v2/artworks/${encodeURIComponent(id)}`);
  }

  list(options: ListOptions = {}): Promise<Artwork[]> {
    const query = new URLSearchParams();
    if (options.offset !== undefined) query.set('offset', String(options.offset));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.call('GET', `/v2/artworks${suffix}`);
  }

  cancel(id: string): Promise<Artwork> {
    return this.call('POST', `/v2/artworks/${encodeURIComponent(id)}/cancel`);
  }

  /** Polls until the artwork is succeeded, failed or canceled; throws after `timeoutMs`. */
  async waitForCompletion(id: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<Artwork> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const artwork = await this.get(id);
      if (FINAL.has(artwork.status)) return artwork;
      if (Date.now() > deadline) throw new Error(`artwork ${id} is still ${artwork.status} after ${options.timeoutMs ?? 120_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  /**
   * Checks a webhook delivery's Standard Webhooks signature with the organization's secret and returns the
   * artwork; throws if the signature, or the timestamp (5 minutes' tolerance), does not hold.
   */
  static verifyWebhook(secret: string, rawBody: string, headers: Record<string, string | string[] | undefined>): Artwork {
    const flat: Record<string, string> = {};
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const value = headers[name];
      if (typeof value === 'string') flat[name] = value;
    }
    return new Webhook(secret).verify(rawBody, flat) as Artwork;
  }
}
