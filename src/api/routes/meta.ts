import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync, RouteOptions } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { openApiDocument, routeList, type RegisteredRoute } from '../openapi.js';
import { route, type RouteContract } from '../route-contract.js';
import { healthResponse, readinessResponse, routeListResponse } from '../schemas.js';

const DOCS_PAGE: RouteContract = {
  method: 'GET',
  url: '/docs',
  operationId: 'docs',
  summary: 'interactive API documentation',
  success: { status: 200, body: { mediaType: 'text/html' }, description: 'the documentation page' },
};

/**
 * What the service says about itself: the route list, metrics, health, readiness, and the OpenAPI document
 * with its interactive page. The document is generated once every plugin has registered its routes.
 */
export const metaRoutes: FastifyPluginAsync<{ deps: ApiDeps; routes: readonly RegisteredRoute[] }> = async (app, { deps, routes }) => {
  const document: Record<string, unknown> = {};
  app.addHook('onReady', async () => {
    Object.assign(document, openApiDocument(routes, deps.publicUrl));
  });

  route(
    app,
    {
      method: 'GET',
      url: '/',
      operationId: 'routes',
      summary: 'the list of routes',
      success: { status: 200, body: routeListResponse, description: 'every route, as /openapi.json has it' },
    },
    async () => ({ name: 'face-refiner' as const, routes: routeList(routes) }),
  );

  route(
    app,
    {
      method: 'GET',
      url: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics of this process',
      success: { status: 200, body: { mediaType: 'text/plain' }, description: 'the metrics, in the Prometheus text format' },
    },
    async ({ reply }) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/healthz',
      operationId: 'health',
      summary: 'liveness',
      success: { status: 200, body: healthResponse, description: 'the process answers' },
    },
    async () => ({ status: 'ok' as const }),
  );

  route(
    app,
    {
      method: 'GET',
      url: '/readyz',
      operationId: 'readiness',
      summary: 'readiness: store and queue reachable, storage not full; models whose engine is not ready',
      success: { status: 200, body: readinessResponse, description: 'ready (degraded: some models cannot run)' },
      errors: ['UNAVAILABLE'],
    },
    async ({ request }) => {
      let depth: number;
      try {
        depth = await deps.queue.depth();
      } catch (error) {
        request.log.error({ err: error }, 'readiness check failed');
        throw errors.unavailable('The store or the queue is unreachable');
      }
      const storage = await deps.storage.check();
      if (!storage.ok) {
        request.log.warn({ storage }, 'not ready: storage');
        throw errors.unavailable(`Storage is full: ${storage.detail}. Reads are served; writes answer 507`);
      }
      // A model whose engine is not ready does not make the process unready (the other models still work):
      // it is named here, and its jobs fail with MODEL_UNAVAILABLE.
      const unavailable = (await deps.models.report())
        .filter((m) => !m.ready)
        .map(({ model, engine, reason }) => ({ model, engine, reason }));
      return {
        status: unavailable.length > 0 ? ('degraded' as const) : ('ok' as const),
        queueDepth: depth,
        freeBytes: storage.freeBytes,
        modelsUnavailable: unavailable,
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openapi',
      summary: 'the OpenAPI 3.1 document',
      success: { status: 200, body: z.record(z.string(), z.unknown()), description: 'this document' },
    },
    async () => document,
  );

  // @fastify/swagger-ui registers the page and its assets itself; the page gets its contract here.
  app.addHook('onRoute', (options: RouteOptions) => {
    if (options.url === DOCS_PAGE.url) options.config = { ...options.config, contract: DOCS_PAGE };
  });
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
};
