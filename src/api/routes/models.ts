import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';

export function modelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Each API model value, its engine, and whether a job for it would run now (and if not, why and what to do).
  app.get('/v2/models', { config: { scope: 'generator' } }, async () => {
    return deps.models.report();
  });
}
