import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errors } from '../errors.js';

/** Fastify's own 4xx errors (body parsing, limits) in the contract's words. */
function fromFastify(error: FastifyError, bodyLimit: number): AppError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('an unsupported content type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badRequest('Expected a JSON body but the body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badRequest('Content-Length does not match the body');
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return errors.malformedJson(error.message);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('BAD_REQUEST', error.statusCode, error.message);
  }
  return null;
}

/** The one place where errors become responses: every body is {message, statusCode, error}, never a stack. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // the route's own limit where it has one (uploads), not the app-wide one
    const mapped = error instanceof AppError ? error : fromFastify(error, request.routeOptions.bodyLimit ?? bodyLimit);
    if (mapped) {
      if (mapped.statusCode >= 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
      else request.log.info({ code: mapped.code, statusCode: mapped.statusCode }, 'request refused');
      return reply.status(mapped.statusCode).headers(mapped.headers).send(mapped.toBody());
    }
    const internal = errors.internal(String(request.id));
    request.log.error({ err: error, code: internal.code }, 'unexpected error');
    return reply.status(500).send(internal.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const notFound = errors.routeNotFound(request.method, request.url.split('?')[0] ?? request.url);
    request.log.info({ code: notFound.code, statusCode: notFound.statusCode }, 'request refused');
    return reply.status(404).send(notFound.toBody());
  });
}
