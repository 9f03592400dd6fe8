import { STATUS_CODES } from 'node:http';
import {
  BODY_LIMIT_BYTES,
  GENERATOR_ROUNDS,
  JPEG_MAX_SIDE,
  MAX_ASPECT_RATIO,
  MAX_IMAGE_REDIRECTS,
  MAX_JOB_ATTEMPTS,
  MAX_JSON_DEPTH,
  WEBP_MAX_SIDE,
} from './limits.js';

/** One row of the catalogue: where a code can be seen, and what it means (for people: the README lists them). */
export interface ErrorEntry {
  /** The HTTP status of an API answer with this code; absent for codes only an artwork carries. */
  status?: number;
  /** True when a failed artwork may carry it as `error.code`. */
  artwork?: true;
  meaning: string;
}

/**
 * Every error code the service gives: API answers (whose body names the status, not the code: the code is logged)
 * and failed artworks' `error.code`. A data table so that adding a code is adding a row; the README's error
 * table is checked against it by test/error-catalogue.test.ts.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, meaning: 'the request is malformed outside its fields (not a JSON object, a bad header value)' },
  VALIDATION_FAILED: { status: 400, meaning: 'fields are wrong; `message` lists each, with what it accepts' },
  MALFORMED_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  JSON_TOO_DEEP: { status: 400, meaning: `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels` },
  UNAUTHORIZED: { status: 401, meaning: 'no `Authorization` header, not a Bearer token, or an unknown or revoked key' },
  FORBIDDEN: { status: 403, meaning: "the key's scope is too low for the route (credits and limits need operator) or for revoking a key of higher scope, or a signed URL is invalid or expired" },
  NO_CREDITS: { status: 403, meaning: 'the organization has no credits left' },
  UPLOAD_QUOTA_EXCEEDED: { status: 403, meaning: "the organization's live uploads would exceed `UPLOAD_QUOTA_BYTES`" },
  NOT_FOUND: { status: 404, meaning: "no such artwork, result, upload or organization for this key (another organization's too)" },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'no such route' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'the headers did not arrive within `HEADERS_TIMEOUT_MS`, or the whole request within `REQUEST_TIMEOUT_MS`' },
  CONFLICT: { status: 409, meaning: 'cancel of a finished artwork, or an `Idempotency-Key` whose first request is still running' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: `the request body is over the route's limit (${BODY_LIMIT_BYTES / 1024} KiB for JSON, \`MAX_IMAGE_BYTES\` for uploads)` },
  URI_TOO_LONG: { status: 414, meaning: 'a path segment of the URL is longer than the server accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'a Content-Type the route does not accept' },
  IDEMPOTENCY_MISMATCH: { status: 422, meaning: 'an `Idempotency-Key` reused with another body' },
  RATE_LIMITED: { status: 429, meaning: "over the organization's requests a minute (all its keys together), or its share of the uploads a server receives at once; `Retry-After` says when to retry" },
  TOO_MANY_UNFINISHED: { status: 429, meaning: 'the organization has its maximum of artworks starting or processing' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'the request headers are larger than the server accepts' },
  INTERNAL: { status: 500, artwork: true, meaning: 'anything unexpected; the log has the details under the request or artwork id' },
  UNAVAILABLE: {
    status: 503,
    meaning: 'the store or the queue cannot be reached, the storage is full (`/readyz`), or the process already receives `UPLOADS_IN_FLIGHT` uploads (`Retry-After` says when to retry)',
  },
  INSUFFICIENT_STORAGE: { status: 507, meaning: 'a write failed for lack of storage space; nothing was saved, reads still work' },
  FETCH_BAD_URL: { artwork: true, meaning: '`imageUrl` is not an absolute http or https URL' },
  FETCH_BLOCKED_ADDRESS: { artwork: true, meaning: '`imageUrl` leads to a loopback, private or otherwise non-public address' },
  FETCH_UNREACHABLE: { artwork: true, meaning: 'the image host could not be reached' },
  FETCH_TIMEOUT: { artwork: true, meaning: 'fetching the image took longer than `FETCH_TIMEOUT_MS`' },
  FETCH_HTTP_STATUS: { artwork: true, meaning: 'the image host answered other than 2xx' },
  FETCH_TOO_MANY_REDIRECTS: { artwork: true, meaning: `more than ${MAX_IMAGE_REDIRECTS} redirects` },
  FETCH_TOO_LARGE: { artwork: true, meaning: 'the image is over `MAX_IMAGE_BYTES`' },
  UPLOAD_NOT_FOUND: { artwork: true, meaning: 'the uploaded image has expired or was deleted' },
  NOT_AN_IMAGE: { status: 400, artwork: true, meaning: 'the bytes are not an image (400 on `POST /v2/uploads`)' },
  UNSUPPORTED_IMAGE_FORMAT: { status: 400, artwork: true, meaning: 'an image, but not JPEG, PNG, WebP, AVIF, TIFF or GIF (400 on uploads)' },
  IMAGE_TOO_MANY_PIXELS: { status: 400, artwork: true, meaning: 'the image is over `MAX_IMAGE_PIXELS` (400 on uploads)' },
  IMAGE_TOO_ELONGATED: { status: 400, artwork: true, meaning: `the image's long side is more than ${MAX_ASPECT_RATIO} times its short side (400 on uploads)` },
  IMAGE_TOO_LARGE_FOR_WEBP: { artwork: true, meaning: `\`outputFormat: webp\` and the image is over ${WEBP_MAX_SIDE} px a side (\`auto\` gives PNG then)` },
  IMAGE_TOO_LARGE_FOR_JPEG: { artwork: true, meaning: `\`outputFormat: jpeg\` and the image is over ${JPEG_MAX_SIDE} px a side` },
  IMAGE_DECODE_FAILED: { artwork: true, meaning: 'the image header was readable but its pixels were not (truncated, corrupt)' },
  MODEL_UNAVAILABLE: { artwork: true, meaning: "the request's `model` is bound to an engine that cannot run (model file missing or failing verification); `GET /v2/models` says why" },
  GENERATOR_REJECTED: { artwork: true, meaning: "ComfyUI refused the workflow (400 with `node_errors`); ComfyUI's own message follows" },
  GENERATOR_FAILED: { artwork: true, meaning: 'a ComfyUI node failed while rendering (`execution_error`); its exception message follows' },
  GENERATOR_UNREACHABLE: { artwork: true, meaning: `no ComfyUI instance of \`COMFYUI_URLS\` rendered the face after ${GENERATOR_ROUNDS} rounds of retries` },
  JOB_TIMEOUT: { artwork: true, meaning: 'processing took longer than `JOB_TIMEOUT_SECONDS`' },
  WORKER_CRASHED: { artwork: true, meaning: `processing stopped ${MAX_JOB_ATTEMPTS} times without finishing (worker crash or restart)` },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes an API answer can carry: those whose catalogue row has an HTTP status. */
export type ApiErrorCode = { [C in ErrorCode]: (typeof ERROR_CATALOGUE)[C] extends { status: number } ? C : never }[ErrorCode];

/**
 * The one error model: every failure the API reports is an AppError with a machine code, whose HTTP status is
 * the code's row in ERROR_CATALOGUE (never written by hand). The API maps it once to the contract's body
 * {message, statusCode, error}.
 */
export class AppError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  readonly messages: string[];
  readonly headers: Record<string, string>;

  constructor(code: ApiErrorCode, message: string | string[], headers: Record<string, string> = {}) {
    const messages = Array.isArray(message) ? message : [message];
    super(messages.join('; '));
    this.name = 'AppError';
    this.code = code;
    this.statusCode = ERROR_CATALOGUE[code].status;
    this.messages = messages;
    this.headers = headers;
  }

  /** The contract's body: `message` is a string, or an array when several things were wrong. */
  toBody(): { message: string | string[]; statusCode: number; error: string } {
    return {
      message: this.messages.length === 1 ? (this.messages[0] as string) : this.messages,
      statusCode: this.statusCode,
      error: STATUS_CODES[this.statusCode] ?? 'Error',
    };
  }
}

export function isApiErrorCode(code: ErrorCode): code is ApiErrorCode {
  const entry: ErrorEntry = ERROR_CATALOGUE[code];
  return entry.status !== undefined;
}

/** The first API code whose catalogue row has `status` (for errors of the framework, which know only a status). */
export function apiCodeForStatus(status: number): ApiErrorCode | undefined {
  return (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).find((code): code is ApiErrorCode => {
    const entry: ErrorEntry = ERROR_CATALOGUE[code];
    return entry.status === status;
  });
}

/** One constructor per kind of API failure; each gives its code the catalogue's status (a test checks it). */
export const errors = {
  badRequest: (message: string | string[]) => new AppError('BAD_REQUEST', message),
  validation: (messages: string[]) => new AppError('VALIDATION_FAILED', messages),
  malformedJson: (detail: string) => new AppError('MALFORMED_JSON', `Malformed JSON in request body: ${detail}`),
  unsupportedMediaType: (received: string, accepted = 'application/json') =>
    new AppError('UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type ${accepted} but received ${received}`),
  unauthorized: (message: string) => new AppError('UNAUTHORIZED', message),
  forbidden: (message: string) => new AppError('FORBIDDEN', message),
  notFound: (message: string) => new AppError('NOT_FOUND', message),
  routeNotFound: (method: string, url: string) => new AppError('ROUTE_NOT_FOUND', `Cannot ${method} ${url}`),
  conflict: (message: string) => new AppError('CONFLICT', message),
  idempotencyMismatch: (key: string) =>
    new AppError('IDEMPOTENCY_MISMATCH', `Idempotency-Key ${key} was already used with a different request body`),
  noCredits: (orgId: string) =>
    new AppError(
      'NO_CREDITS',
      `This organization has no credits left; the service operator can add some (POST /v2/organizations/${orgId}/credits with an operator key)`,
    ),
  tooManyUnfinished: (max: number) =>
    new AppError('TOO_MANY_UNFINISHED', `This organization already has ${max} artworks starting or processing; retry when some finish`, {
      'retry-after': '5',
    }),
  payloadTooLarge: (limit: number) =>
    new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the accepted ${limit} bytes`),
  unavailable: (message: string) => new AppError('UNAVAILABLE', message),
  organizationUploadsBusy: (max: number, retryAfterSeconds: number, headers: Record<string, string> = {}) =>
    new AppError('RATE_LIMITED', `This organization already sends its share of this server's uploads at once (${max}); retry in ${retryAfterSeconds} s`, {
      ...headers,
      'retry-after': String(retryAfterSeconds),
    }),
  uploadsBusy: (max: number, retryAfterSeconds: number, headers: Record<string, string> = {}) =>
    new AppError('UNAVAILABLE', `This server already receives ${max} uploads at once; retry in ${retryAfterSeconds} s`, {
      ...headers,
      'retry-after': String(retryAfterSeconds),
    }),
  insufficientStorage: () =>
    new AppError(
      'INSUFFICIENT_STORAGE',
      'The server has no storage space left, so nothing was saved; reads still work. Retry later (the operator has been told)',
    ),
  uploadQuotaExceeded: (quotaBytes: number, headers: Record<string, string> = {}) =>
    new AppError(
      'UPLOAD_QUOTA_EXCEEDED',
      `This organization's uploads would exceed its quota of ${quotaBytes} bytes; uploads count until they expire`,
      headers,
    ),
  jsonTooDeep: (maxDepth: number) =>
    new AppError('JSON_TOO_DEEP', `Expected JSON nested at most ${maxDepth} levels deep but the body is nested deeper`),
  uriTooLong: () => new AppError('URI_TOO_LONG', 'A path segment of the request URL is longer than the server accepts'),
  rateLimited: (perMinute: number, retryAfterSeconds: number, headers: Record<string, string>) =>
    new AppError('RATE_LIMITED', `Rate limit of ${perMinute} requests a minute for this organization exceeded; retry in ${retryAfterSeconds} s`, {
      ...headers,
      'retry-after': String(retryAfterSeconds),
    }),
  internal: (requestId: string) =>
    new AppError('INTERNAL', `Internal server error (request id ${requestId})`),
} as const;

/** Why a job failed; stored on the artwork as `error: {code, message}`. */
export class JobError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'JobError';
    this.code = code;
  }
}
