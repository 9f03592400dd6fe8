import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ApiDeps } from './deps.js';
import { openApiDocument } from './openapi.js';
import { installErrorHandling } from './error-handler.js';
import { artworkRoutes } from './routes/artworks.js';
import { metaRoutes } from './routes/meta.js';
import { modelRoutes } from './routes/models.js';
import { organizationRoutes } from './routes/organizations.js';
import { resultRoutes } from './routes/results.js';
import { uploadRoutes } from './routes/uploads.js';
import { webAppRoutes } from './routes/web-app.js';

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
    // the documentation and try-it pages set their own policy; everything else is data
    if (!request.url.startsWith('/docs') && !request.url.startsWith('/app')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  // An empty body with Content-Type: application/json (common on POST .../cancel) is no body, not an error;
  // anything else goes through Fastify's parser, which rejects __proto__ and constructor keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    void parseJson(request, text, done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  installErrorHandling(app, BODY_LIMIT_BYTES);
  const document = openApiDocument(deps.publicUrl);
  app.get('/openapi.json', async () => document);
  void app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  void app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
  metaRoutes(app, deps);
  artworkRoutes(app, deps);
  modelRoutes(app, deps);
  resultRoutes(app, deps);
  organizationRoutes(app, deps);
  uploadRoutes(app, deps);
  webAppRoutes(app);
  return app;
}
