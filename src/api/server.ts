import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import { installAuthentication } from './auth.js';
import type { ApiDeps } from './deps.js';
import { collectRoutes, type RegisteredRoute } from './openapi.js';
import { frameworkErrorHandler, installErrorHandling } from './error-handler.js';
import { BODY_LIMIT_BYTES, MAX_JSON_DEPTH } from '../limits.js';
import { SECURITY_HEADERS, clientErrorHandler, jsonDepthExceeds, requestIdOf } from './request-guards.js';
import { artworkRoutes } from './routes/artworks.js';
import { metaRoutes } from './routes/meta.js';
import { modelRoutes } from './routes/models.js';
import { organizationRoutes } from './routes/organizations.js';
import { resultRoutes } from './routes/results.js';
import { uploadRoutes } from './routes/uploads.js';
import { webAppRoutes } from './routes/web-app.js';


declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, in order (see collectRoutes): what the OpenAPI document and `GET /` are made of. */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

export function buildApi(deps: ApiDeps, logger: Logger): FastifyInstance {
  // Typed as Fastify's logger so that the app keeps Fastify's default instance type.
  const loggerInstance: FastifyBaseLogger = logger;
  const { requestTimeoutMs, headersTimeoutMs } = deps.timeouts;
  const app = Fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Headers and body must arrive within these; Node checks open requests every connectionsCheckingInterval.
    requestTimeout: requestTimeoutMs,
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeoutMs / 4), Math.floor(requestTimeoutMs / 4))),
    },
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler(BODY_LIMIT_BYTES),
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.headers(SECURITY_HEADERS);
    // the documentation and try-it pages set their own policy; everything else is data
    if (!request.url.startsWith('/docs') && !request.url.startsWith('/app')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  app.addHook('onRequest', async (request) => {
    // A request with no body is not refused for its Content-Type (fetch sends text/plain with body '', e.g. on
    // POST .../cancel): without the header Fastify calls the handler without parsing anything.
    if (request.headers['content-length'] === '0' && request.headers['transfer-encoding'] === undefined) {
      delete request.headers['content-type'];
    }
  });
  installAuthentication(app, deps);
  // JSON routes take JSON only: without the default text/plain parser, any other type is a 415 before the body
  // is read. The uploads plugin replaces it with its image parsers in its own scope (routes/uploads.ts).
  app.removeContentTypeParser('text/plain');
  // An empty body with Content-Type: application/json (common on POST .../cancel) is no body, not an error;
  // anything else goes through Fastify's parser, which rejects __proto__ and constructor keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(errors.jsonTooDeep(MAX_JSON_DEPTH), undefined);
    void parseJson(request, text, done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  installErrorHandling(app, BODY_LIMIT_BYTES, deps.storage);
  const routes = collectRoutes(app);
  app.decorate('registeredRoutes', routes);
  // Each route group is an encapsulated plugin: its parsers and hooks stay its own. Only the root's hooks
  // (authentication, security headers, metrics) and the JSON parser reach into every one.
  void app.register(metaRoutes, { deps, routes });
  void app.register(artworkRoutes, { deps, prefix: '/v2/artworks' });
  void app.register(resultRoutes, { deps, prefix: '/v2/artworks' });
  void app.register(uploadRoutes, { deps, prefix: '/v2/uploads' });
  void app.register(modelRoutes, { deps, prefix: '/v2' });
  void app.register(organizationRoutes, { deps, prefix: '/v2' });
  void app.register(webAppRoutes, { prefix: '/app' });
  return app;
}
