import { STATUS_CODES } from 'node:http';

/**
 * The one error model: every failure the API reports is an AppError with a machine code and an HTTP status.
 * The API maps it once to the contract's body {message, statusCode, error}.
 */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly messages: string[];
  readonly headers: Record<string, string>;

  constructor(code: string, statusCode: number, message: string | string[], headers: Record<string, string> = {}) {
    const messages = Array.isArray(message) ? message : [message];
    super(messages.join('; '));
    this.name = 'AppError';
    this.code = code;
    this.statusCode = statusCode;
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

/** The catalogue: one constructor per kind of failure, so codes and statuses are defined in one place. */
export const errors = {
  badRequest: (message: string | string[]) => new AppError('BAD_REQUEST', 400, message),
  validation: (messages: string[]) => new AppError('VALIDATION_FAILED', 400, messages),
  malformedJson: (detail: string) => new AppError('MALFORMED_JSON', 400, `Malformed JSON in request body: ${detail}`),
  unsupportedMediaType: (received: string, accepted = 'application/json') =>
    new AppError('UNSUPPORTED_MEDIA_TYPE', 415, `Expected Content-Type ${accepted} but received ${received}`),
  unauthorized: (message: string) => new AppError('UNAUTHORIZED', 401, message),
  forbidden: (message: string) => new AppError('FORBIDDEN', 403, message),
  notFound: (message: string) => new AppError('NOT_FOUND', 404, message),
  routeNotFound: (method: string, url: string) => new AppError('ROUTE_NOT_FOUND', 404, `Cannot ${method} ${url}`),
  conflict: (message: string) => new AppError('CONFLICT', 409, message),
  idempotencyMismatch: (key: string) =>
    new AppError('IDEMPOTENCY_MISMATCH', 422, `Idempotency-Key ${key} was already used with a different request body`),
  noCredits: (orgId: string) =>
    new AppError(
      'NO_CREDITS',
      403,
      `This organization has no credits left; the service operator can add some (POST /v2/organizations/${orgId}/credits with an operator key)`,
    ),
  tooManyUnfinished: (max: number) =>
    new AppError('TOO_MANY_UNFINISHED', 429, `This organization already has ${max} artworks starting or processing; retry when some finish`, {
      'retry-after': '5',
    }),
  payloadTooLarge: (limit: number) =>
    new AppError('PAYLOAD_TOO_LARGE', 413, `Request body is larger than the accepted ${limit} bytes`),
  unavailable: (message: string) => new AppError('UNAVAILABLE', 503, message),
  insufficientStorage: () =>
    new AppError(
      'INSUFFICIENT_STORAGE',
      507,
      'The server has no storage space left, so nothing was saved; reads still work. Retry later (the operator has been told)',
    ),
  uploadQuotaExceeded: (quotaBytes: number) =>
    new AppError(
      'UPLOAD_QUOTA_EXCEEDED',
      403,
      `This organization's uploads would exceed its quota of ${quotaBytes} bytes; uploads count until they expire`,
    ),
  jsonTooDeep: (maxDepth: number) =>
    new AppError('JSON_TOO_DEEP', 400, `Expected JSON nested at most ${maxDepth} levels deep but the body is nested deeper`),
  internal: (requestId: string) =>
    new AppError('INTERNAL', 500, `Internal server error (request id ${requestId})`),
} as const;

/** Why a job failed; stored on the artwork as `error: {code, message}`. */
export class JobError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'JobError';
    this.code = code;
  }
}
