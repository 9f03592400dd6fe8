import type { FastifyInstance } from 'fastify';
import { issueApiKey } from '../../auth/api-keys.js';
import { errors } from '../../errors.js';
import { newWebhookSecret } from '../../webhooks/secret.js';
import { authenticate } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { createApiKeyBody, creditsBody, limitsBody, parseOrThrow } from '../schemas.js';

export function organizationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps;

  app.get('/v2/me', async (request, reply) => {
    const key = await authenticate(deps, request, reply, 'generator');
    const { org } = key;
    return {
      organizationId: key.orgId,
      organizationName: org.name,
      keyId: key.id,
      name: key.name,
      scope: key.scope,
      credits: org.credits,
      rateLimitPerMinute: org.rateLimitPerMinute ?? deps.limits.ratePerMinute,
      maxUnfinishedArtworks: org.maxUnfinished ?? deps.limits.maxUnfinished,
    };
  });

  // Another organization's id is a 404, like its artworks: a key learns nothing about other organizations.
  app.post<{ Params: { orgId: string } }>('/v2/organizations/:orgId/api-keys', async (request, reply) => {
    const key = await authenticate(deps, request, reply, 'admin');
    if (request.params.orgId !== key.orgId) throw errors.notFound(`Organization ${request.params.orgId} not found`);
    const input = parseOrThrow(createApiKeyBody, request.body);
    const created = await issueApiKey(store, { orgId: key.orgId, name: input.name, scope: input.scope });
    request.log.info({ newKeyId: created.key.id, scope: input.scope }, 'api key created');
    return reply.status(201).send({
      id: created.key.id,
      organizationId: created.key.orgId,
      name: created.key.name,
      scope: created.key.scope,
      createdAt: created.key.createdAt,
      secret: created.secret,
    });
  });

  app.post<{ Params: { orgId: string } }>('/v2/organizations/:orgId/credits', async (request, reply) => {
    const key = await authenticate(deps, request, reply, 'admin');
    if (request.params.orgId !== key.orgId) throw errors.notFound(`Organization ${request.params.orgId} not found`);
    const input = parseOrThrow(creditsBody, request.body);
    await store.setCredits(key.orgId, input.unlimited ? { unlimited: true } : { add: input.add ?? 0 });
    request.log.info({ change: input }, 'credits changed');
    return { organizationId: key.orgId, credits: (await store.getOrganization(key.orgId))?.credits ?? null };
  });

  app.post<{ Params: { orgId: string } }>('/v2/organizations/:orgId/limits', async (request, reply) => {
    const key = await authenticate(deps, request, reply, 'admin');
    if (request.params.orgId !== key.orgId) throw errors.notFound(`Organization ${request.params.orgId} not found`);
    const input = parseOrThrow(limitsBody, request.body);
    await store.setLimits(key.orgId, { rateLimitPerMinute: input.rateLimitPerMinute, maxUnfinished: input.maxUnfinishedArtworks });
    return { organizationId: key.orgId, ...input };
  });

  app.post<{ Params: { orgId: string } }>('/v2/organizations/:orgId/webhook-secret', async (request, reply) => {
    const key = await authenticate(deps, request, reply, 'admin');
    if (request.params.orgId !== key.orgId) throw errors.notFound(`Organization ${request.params.orgId} not found`);
    const secret = newWebhookSecret();
    const previousValidUntil = new Date(Date.now() + deps.webhookSecretGraceMs);
    await store.rotateWebhookSecret(key.orgId, secret, previousValidUntil);
    request.log.info('webhook secret rotated');
    return { organizationId: key.orgId, secret, previousSecretValidUntil: previousValidUntil.toISOString() };
  });
}
