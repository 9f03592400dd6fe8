import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { ApiDeps } from '../deps.js';

export const ROUTES = [
  ['POST', '/v2/artworks/face-refiner', 'create a face-refiner artwork (generator)'],
  ['GET', '/v2/artworks', "list the organization's artworks, newest first (?offset, ?limit 1..500)"],
  ['GET', '/v2/artworks/:id', 'one artwork'],
  ['POST', '/v2/artworks/:id/cancel', 'cancel a starting or processing artwork'],
  ['GET', '/v2/artworks/:id/results/:n', 'the n-th result image (signed URL, or API key)'],
  ['GET', '/v2/artworks/:id/webhook-deliveries', "the artwork's webhook delivery attempts"],
  ['POST', '/v2/organizations/:orgId/api-keys', 'create an API key (admin)'],
  ['POST', '/v2/organizations/:orgId/webhook-secret', 'rotate the webhook signing secret (admin)'],
  ['POST', '/v2/organizations/:orgId/credits', 'add credits, or make them unlimited (admin)'],
  ['POST', '/v2/organizations/:orgId/limits', "set the organization's rate limit and unfinished-artwork cap (admin)"],
  ['POST', '/v2/uploads', 'upload an image (its bytes as the body); answers a signed URL usable as imageUrl'],
  ['GET', '/v2/uploads/:id', 'an uploaded image (signed URL)'],
  ['GET', '/v2/models', "each API model value, its engine, and whether it is ready (and why not)"],
  ['GET', '/v2/me', 'the calling key'],
  ['GET', '/app', 'a web page to try the service'],
  ['GET', '/metrics', 'Prometheus metrics of this process'],
  ['GET', '/openapi.json', 'the OpenAPI 3.1 document'],
  ['GET', '/docs', 'interactive API documentation'],
  ['GET', '/healthz', 'liveness'],
  ['GET', '/readyz', "readiness: store and queue reachable; models whose engine is not ready"],
] as const;

export function metaRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/', async () => ({
    name: 'face-refiner',
    routes: ROUTES.map(([method, path, description]) => ({ method, path, description })),
  }));

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request) => {
    let depth: number;
    try {
      depth = await deps.queue.depth();
    } catch (error) {
      request.log.error({ err: error }, 'readiness check failed');
      throw errors.unavailable('The store or the queue is unreachable');
    }
    // A model whose engine is not ready does not make the process unready (the other models still work):
    // it is named here, and its jobs fail with MODEL_UNAVAILABLE.
    const unavailable = (await deps.models.report())
      .filter((m) => !m.ready)
      .map(({ model, engine, reason }) => ({ model, engine, reason }));
    return { status: unavailable.length > 0 ? 'degraded' : 'ok', queueDepth: depth, modelsUnavailable: unavailable };
  });
}
