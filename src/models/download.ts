import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import type { AddressPolicy } from '../net/guarded-agent.js';
import { checkOutboundUrl, REDIRECT_STATUSES } from '../net/outbound-url.js';

export interface Progress {
  received: number;
  /** Total bytes when the server said; undefined otherwise. */
  total: number | undefined;
  bytesPerSecond: number;
}

export interface DownloadOptions {
  /** Built with createOutboundAgent(policy): every resolved address is checked at connect time. */
  dispatcher: Dispatcher;
  policy: AddressPolicy;
  /** Refuse anything larger (from the catalogue). */
  maxBytes: number;
  /** Longest wait for an answer's headers, or between two chunks of its body. */
  idleTimeoutMs: number;
  maxRedirects?: number;
  /** Tries per URL: a dropped connection is resumed where it stopped. */
  attempts?: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    /** The HTTP status that made it fail, when a server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

function checkUrl(raw: string, policy: AddressPolicy): URL {
  const checked = checkOutboundUrl(raw, policy);
  if ('url' in checked) return checked.url;
  throw new DownloadError(checked.problem === 'blocked' ? `${checked.message} (ALLOW_PRIVATE_NETWORKS=true allows it)` : checked.message);
}

/** GET with the same rules as image fetches: http(s), checked addresses, a few redirects, idle timeouts. */
async function get(raw: string, headers: Record<string, string>, options: DownloadOptions): Promise<Dispatcher.ResponseData & { url: URL }> {
  // GitHub release assets answer with a redirect to their storage host: allow a few
  const maxRedirects = options.maxRedirects ?? 5;
  let url = checkUrl(raw, options.policy);
  for (let hop = 0; ; hop++) {
    const response = await request(url, {
      method: 'GET',
      dispatcher: options.dispatcher,
      headers: { 'user-agent': 'face-refiner', ...headers },
      headersTimeout: options.idleTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!REDIRECT_STATUSES.has(response.statusCode)) return { ...response, url };
    response.body.resume();
    const location = response.headers.location;
    if (typeof location !== 'string') throw new DownloadError(`${url.href} answered ${response.statusCode} without a Location`);
    if (hop >= maxRedirects) throw new DownloadError(`Expected at most ${maxRedirects} redirects fetching ${raw}`);
    url = checkUrl(new URL(location, url).href, options.policy);
  }
}

/** A small text file (a published hash), capped at `maxBytes`. */
export async function fetchText(raw: string, maxBytes: number, options: DownloadOptions): Promise<string> {
  const response = await get(raw, {}, options);
  if (response.statusCode !== 200) {
    response.body.resume();
    throw new DownloadError(`Expected 200 from ${response.url.href} but received ${response.statusCode}`, response.statusCode);
  }
  let text = '';
  for await (const chunk of response.body) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > maxBytes) {
      response.body.destroy();
      throw new DownloadError(`Expected at most ${maxBytes} bytes from ${response.url.href}`);
    }
  }
  return text;
}

/** One try: continues `partFile` from its current length when the server honours Range. */
async function attempt(raw: string, partFile: string, options: DownloadOptions): Promise<void> {
  const have = (await fsp.stat(partFile).catch(() => undefined))?.size ?? 0;
  const response = await get(raw, have > 0 ? { range: `bytes=${have}-` } : {}, options);
  const { statusCode, headers, body } = response;
  let start = 0;
  let total: number | undefined;
  if (statusCode === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== have) {
      body.destroy();
      throw new DownloadError(`Expected ${response.url.href} to resume at byte ${have} but it answered Content-Range ${String(headers['content-range'])}`);
    }
    start = have;
    total = range[2] === '*' ? undefined : Number(range[2]);
  } else if (statusCode === 416 && have > 0) {
    // nothing left to send: the part is whole (its hash decides)
    body.resume();
    return;
  } else if (statusCode === 200) {
    const length = Number(headers['content-length']);
    total = Number.isFinite(length) ? length : undefined;
  } else {
    body.resume();
    throw new DownloadError(`Expected 200 or 206 from ${response.url.href} but received ${statusCode}`);
  }
  if (total !== undefined && total > options.maxBytes) {
    body.destroy();
    throw new DownloadError(`Expected at most ${options.maxBytes} bytes but ${response.url.href} has ${total}`);
  }
  // 200 after a Range request: the server starts over, and so does the part file
  const out = fs.createWriteStream(partFile, { flags: start > 0 ? 'a' : 'w' });
  const began = performance.now();
  let received = start;
  let fresh = 0;
  try {
    for await (const chunk of body) {
      const data = chunk as Buffer;
      received += data.length;
      fresh += data.length;
      if (received > options.maxBytes) throw new DownloadError(`Expected at most ${options.maxBytes} bytes but ${response.url.href} sent more`);
      if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      options.onProgress?.({ received, total, bytesPerSecond: fresh / Math.max(1e-3, (performance.now() - began) / 1000) });
    }
  } finally {
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(`Expected ${total} bytes from ${response.url.href} but the connection ended after ${received}`);
  }
}

/**
 * Downloads `url` into `partFile`, resuming what is already there (a previous run's or a dropped connection's)
 * with an HTTP Range request. The caller verifies the part and renames it into place.
 */
export async function downloadResumable(url: string, partFile: string, options: DownloadOptions): Promise<void> {
  const attempts = options.attempts ?? 3;
  for (let i = 1; ; i++) {
    try {
      await attempt(url, partFile, options);
      return;
    } catch (error) {
      const fatal = error instanceof DownloadError && !/connection ended/.test(error.message);
      if (fatal || i >= attempts || options.signal?.aborted) throw error;
    }
  }
}
