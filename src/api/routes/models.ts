import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { route } from '../route-contract.js';
import { modelsResponse } from '../schemas.js';

export const modelRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  route(
    app,
    {
      method: 'GET',
      url: '/models',
      operationId: 'listModels',
      summary: 'each API model value, its engine, and whether it is ready (and why not)',
      scope: 'generator',
      success: { status: 200, body: modelsResponse, description: 'the models' },
    },
    // whether a job for each model would run now (and if not, why and what to do)
    async () => deps.models.report(),
  );
};
