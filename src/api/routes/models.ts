import type { FastifyInstance } from 'fastify';
import { authenticate } from '../auth.js';
import type { ApiDeps } from '../deps.js';

export function modelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Each API model value, its engine, and whether a job for it would run now (and if not, why and what to do).
  app.get('/v2/models', async (request, reply) => {
    await authenticate(deps, request, reply, 'generator');
    return deps.models.report();
  });
}
