import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, apiCodeForStatus, errors } from '../errors.js';
import { isDiskFull } from '../store/disk-full.js';
import type { StorageHealth } from '../store/storage-health.js';
import { SECURITY_HEADERS } from './request-guards.js';

/** However many things were wrong and however long the input, an error body stays small. */
export const MAX_ERROR_MESSAGES = 20;
export const MAX_ERROR_MESSAGE_LENGTH = 500;

function received(request: FastifyRequest): string {
  const type = request.headers['content-type'];
  if (!type) return 'no Content-Type';
  return JSON.stringify(type.length > 100 ? `${type.slice(0, 97)}...` : type);
}

/** Fastify's own 4xx errors (body parsing, limits) in the contract's words, with this route's own limits. */
function fromFastify(error: FastifyError, request: FastifyRequest, bodyLimit: number): AppError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(request.routeOptions.bodyLimit ?? bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(received(request), request.routeOptions.config?.contract?.rawBody?.accepts);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badRequest('Expected a JSON body but the body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badRequest('Content-Length does not match the body');
    case 'FST_ERR_BAD_URL':
      return errors.badRequest('The request URL is not valid percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.uriTooLong();
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return errors.malformedJson(error.message);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's 4xx statuses (400, 404, 413, 414, 415) each have a row; anything else is a plain bad request
    return new AppError(apiCodeForStatus(error.statusCode) ?? 'BAD_REQUEST', error.message);
  }
  return null;
}

function capped(messages: string[]): string[] {
  const kept = messages
    .slice(0, MAX_ERROR_MESSAGES)
    .map((m) => (m.length > MAX_ERROR_MESSAGE_LENGTH ? `${m.slice(0, MAX_ERROR_MESSAGE_LENGTH - 3)}...` : m));
  if (messages.length > MAX_ERROR_MESSAGES) kept.push(`... and ${messages.length - MAX_ERROR_MESSAGES} more problems`);
  return kept;
}

/** Bodies up to this size are read and dropped after a refusal (cheap); larger ones close the connection. */
const DRAIN_AT_MOST_BYTES = 64 * 1024;

/**
 * A request refused before its body was read and without a valid key: a small body is drained so the client
 * reads the answer on a kept-alive connection; a large or unannounced one is not worth receiving from someone
 * unknown, so the connection closes after the answer. (An authenticated client's refused body is drained.)
 */
function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (request.body !== undefined || request.caller !== null) return;
  const length = Number(request.headers['content-length'] ?? 0);
  if (request.headers['transfer-encoding'] !== undefined || length > DRAIN_AT_MOST_BYTES) reply.header('connection', 'close');
}

function send(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  closeIfBodyUnread(request, reply);
  // Framework errors (bad URL, long parameter) arrive before the onRequest hook has set these.
  reply.headers({ ...SECURITY_HEADERS, 'x-request-id': request.id }).headers(error.headers);
  const body = error.toBody();
  return reply.status(error.statusCode).send({ ...body, message: Array.isArray(body.message) ? capped(body.message) : capped([body.message])[0] });
}

/** The one place where errors become responses: every body is {message, statusCode, error}, never a stack. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number, storage: StorageHealth): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const diskFull = !(error instanceof AppError) && isDiskFull(error);
    if (diskFull) storage.reportFull();
    const mapped = error instanceof AppError ? error : diskFull ? errors.insufficientStorage() : fromFastify(error, request, bodyLimit);
    if (mapped) {
      if (mapped.statusCode >= 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
      else request.log.info({ code: mapped.code, statusCode: mapped.statusCode }, 'request refused');
      return send(request, reply, mapped);
    }
    const internal = errors.internal(String(request.id));
    request.log.error({ err: error, code: internal.code }, 'unexpected error');
    return send(request, reply, internal);
  });
  app.setNotFoundHandler((request, reply) => {
    const notFound = errors.routeNotFound(request.method, request.url.split('?')[0] ?? request.url);
    request.log.info({ code: notFound.code, statusCode: notFound.statusCode }, 'request refused');
    return send(request, reply, notFound);
  });
}

/** Fastify's `frameworkErrors` option: URL errors found before routing, answered like every other error. */
export function frameworkErrorHandler(bodyLimit: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void send(request, reply, fromFastify(error, request, bodyLimit) ?? errors.badRequest(error.message));
  };
}
