import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps } from './deps.js';
import { installErrorHandling } from './error-handler.js';
import { artworkRoutes } from './routes/artworks.js';
import { metaRoutes } from './routes/meta.js';
import { organizationRoutes } from './routes/organizations.js';
import { resultRoutes } from './routes/results.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

export function buildApi(deps: ApiDeps, logger: Logger): FastifyInstance {
  // Typed as Fastify's logger so that the app keeps Fastify's default instance type.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  // An empty body with Content-Type: application/json (common on POST .../cancel) is no body, not an error;
  // anything else goes through Fastify's parser, which rejects __proto__ and constructor keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    void parseJson(request, text, done);
  });
  installErrorHandling(app, BODY_LIMIT_BYTES);
  metaRoutes(app, deps);
  artworkRoutes(app, deps);
  resultRoutes(app, deps);
  organizationRoutes(app, deps);
  return app;
}
