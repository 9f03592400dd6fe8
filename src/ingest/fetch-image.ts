import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { JobError } from '../errors.js';
import { MAX_IMAGE_REDIRECTS } from '../limits.js';
import { BlockedAddressError } from '../net/address-policy.js';
import type { AddressPolicy } from '../net/guarded-agent.js';
import { checkOutboundUrl, REDIRECT_STATUSES } from '../net/outbound-url.js';

export interface FetchImageOptions {
  /** Built with createOutboundAgent(policy): it checks every resolved address at connect time. */
  dispatcher: Dispatcher;
  policy: AddressPolicy;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** Aborts the transfer early (job canceled). */
  signal?: AbortSignal;
}

function checkUrl(raw: string, policy: AddressPolicy): URL {
  const checked = checkOutboundUrl(raw, policy);
  if ('url' in checked) return checked.url;
  throw new JobError(checked.problem === 'blocked' ? 'FETCH_BLOCKED_ADDRESS' : 'FETCH_BAD_URL', checked.message);
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current && chain.length < 5) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function toJobError(error: unknown, url: URL, timeoutMs: number): JobError {
  const chain = causeChain(error);
  const known = chain.find((e): e is JobError => e instanceof JobError);
  if (known) return known;
  const blocked = chain.find((e): e is BlockedAddressError => e instanceof BlockedAddressError);
  if (blocked) return new JobError('FETCH_BLOCKED_ADDRESS', `imageUrl host ${blocked.message}`);
  if (
    chain.some(
      (e) =>
        (e as Error)?.name === 'TimeoutError' ||
        e instanceof undiciErrors.HeadersTimeoutError ||
        e instanceof undiciErrors.BodyTimeoutError ||
        e instanceof undiciErrors.ConnectTimeoutError,
    )
  ) {
    return new JobError('FETCH_TIMEOUT', `Fetching ${url.href} took longer than ${timeoutMs} ms`);
  }
  const code = chain.map((e) => (e as NodeJS.ErrnoException)?.code).find(Boolean);
  return new JobError(
    'FETCH_UNREACHABLE',
    `Could not fetch ${url.href}: ${code ?? (error instanceof Error ? error.message : String(error))}`,
  );
}

/**
 * Downloads imageUrl as untrusted input: http(s) only, every hop's address checked (see guarded-agent),
 * a few redirects at most, one deadline for the whole transfer, and a byte cap enforced while streaming, so a
 * lying Content-Length or an endless body stops at the cap.
 */
export async function fetchImage(rawUrl: string, options: FetchImageOptions): Promise<Buffer> {
  const maxRedirects = options.maxRedirects ?? MAX_IMAGE_REDIRECTS;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let url = checkUrl(rawUrl, options.policy);
  for (let hop = 0; ; hop++) {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: options.dispatcher,
        signal,
        headers: { accept: 'image/*', 'user-agent': 'face-refiner' },
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    } catch (error) {
      throw toJobError(error, url, options.timeoutMs);
    }
    const { statusCode, headers, body } = response;
    if (REDIRECT_STATUSES.has(statusCode)) {
      body.resume();
      const location = headers.location;
      if (typeof location !== 'string') {
        throw new JobError('FETCH_HTTP_STATUS', `${url.href} answered ${statusCode} without a Location`);
      }
      if (hop >= maxRedirects) {
        throw new JobError('FETCH_TOO_MANY_REDIRECTS', `Expected at most ${maxRedirects} redirects fetching ${rawUrl}`);
      }
      url = checkUrl(new URL(location, url).href, options.policy);
      continue;
    }
    if (statusCode < 200 || statusCode > 299) {
      body.resume();
      throw new JobError('FETCH_HTTP_STATUS', `Expected a 2xx answer from ${url.href} but received ${statusCode}`);
    }
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      body.destroy();
      throw new JobError('FETCH_TOO_LARGE', `Expected at most ${options.maxBytes} bytes but ${url.href} declares ${declared}`);
    }
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body) {
        received += (chunk as Buffer).length;
        if (received > options.maxBytes) {
          body.destroy();
          throw new JobError('FETCH_TOO_LARGE', `Expected at most ${options.maxBytes} bytes but ${url.href} sent more`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw toJobError(error, url, options.timeoutMs);
    }
    return Buffer.concat(chunks);
  }
}
