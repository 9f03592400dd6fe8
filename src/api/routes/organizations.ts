import type { FastifyInstance } from 'fastify';
import { issueApiKey } from '../../auth/api-keys.js';
import { errors } from '../../errors.js';
import type { ApiKey, Organization } from '../../store/store.js';
import { newWebhookSecret } from '../../webhooks/secret.js';
import { callerOf, type Caller } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { createApiKeyBody, createOrganizationBody, creditsBody, limitsBody, parseOrThrow } from '../schemas.js';

type OrgParams = { Params: { orgId: string } };

/** A key as listed: everything but its secret, which the service never had in clear after creation. */
function presentKey(key: ApiKey) {
  return {
    id: key.id,
    organizationId: key.orgId,
    name: key.name,
    scope: key.scope,
    createdAt: key.createdAt,
    lastUsedAt: key.lastUsedAt,
    revokedAt: key.revokedAt,
  };
}

export function organizationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps;

  /**
   * The organization a route acts on. An organization's own keys reach only it: another id is a 404, like its
   * artworks, so a key learns nothing about other organizations. An operator key reaches every organization.
   */
  async function targetOrganization(caller: Caller, orgId: string): Promise<Organization> {
    if (orgId === caller.orgId) return caller.org;
    const org = caller.scope === 'operator' ? await store.getOrganization(orgId) : null;
    if (!org) throw errors.notFound(`Organization ${orgId} not found`);
    return org;
  }

  app.get('/v2/me', { config: { scope: 'generator' } }, async (request) => {
    const key = callerOf(request);
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

  app.post('/v2/organizations', { config: { scope: 'operator' } }, async (request, reply) => {
    const input = parseOrThrow(createOrganizationBody, request.body);
    const org = await store.createOrganization(input.name, newWebhookSecret());
    const { key, secret } = await issueApiKey(store, { orgId: org.id, name: 'admin', scope: 'admin' });
    request.log.info({ newOrgId: org.id, newKeyId: key.id }, 'organization created');
    return reply.status(201).send({ organizationId: org.id, name: org.name, keyId: key.id, scope: key.scope, secret });
  });

  app.post<OrgParams>('/v2/organizations/:orgId/api-keys', { config: { scope: 'admin' } }, async (request, reply) => {
    const org = await targetOrganization(callerOf(request), request.params.orgId);
    const input = parseOrThrow(createApiKeyBody, request.body);
    const created = await issueApiKey(store, { orgId: org.id, name: input.name, scope: input.scope });
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

  app.get<OrgParams>('/v2/organizations/:orgId/api-keys', { config: { scope: 'admin' } }, async (request) => {
    const org = await targetOrganization(callerOf(request), request.params.orgId);
    return (await store.listApiKeys(org.id)).map(presentKey);
  });

  // Every API process reads the key from the store on each request, so a revoked key is refused at once everywhere.
  app.delete<{ Params: { orgId: string; keyId: string } }>(
    '/v2/organizations/:orgId/api-keys/:keyId',
    { config: { scope: 'admin' } },
    async (request) => {
      const org = await targetOrganization(callerOf(request), request.params.orgId);
      const revoked = await store.revokeApiKey(org.id, request.params.keyId, new Date());
      if (!revoked) throw errors.notFound(`API key ${request.params.keyId} not found`);
      request.log.info({ revokedKeyId: revoked.id }, 'api key revoked');
      return presentKey(revoked);
    },
  );

  // Credits and limits are the operator's: an organization's own admin never raises its own.
  app.post<OrgParams>('/v2/organizations/:orgId/credits', { config: { scope: 'operator' } }, async (request) => {
    const org = await targetOrganization(callerOf(request), request.params.orgId);
    const input = parseOrThrow(creditsBody, request.body);
    await store.setCredits(org.id, input.unlimited ? { unlimited: true } : { add: input.add ?? 0 });
    request.log.info({ targetOrgId: org.id, change: input }, 'credits changed');
    return { organizationId: org.id, credits: (await store.getOrganization(org.id))?.credits ?? null };
  });

  app.post<OrgParams>('/v2/organizations/:orgId/limits', { config: { scope: 'operator' } }, async (request) => {
    const org = await targetOrganization(callerOf(request), request.params.orgId);
    const input = parseOrThrow(limitsBody, request.body);
    await store.setLimits(org.id, { rateLimitPerMinute: input.rateLimitPerMinute, maxUnfinished: input.maxUnfinishedArtworks });
    request.log.info({ targetOrgId: org.id, limits: input }, 'limits changed');
    return { organizationId: org.id, ...input };
  });

  app.post<OrgParams>('/v2/organizations/:orgId/webhook-secret', { config: { scope: 'admin' } }, async (request) => {
    const org = await targetOrganization(callerOf(request), request.params.orgId);
    const secret = newWebhookSecret();
    const previousValidUntil = new Date(Date.now() + deps.webhookSecretGraceMs);
    await store.rotateWebhookSecret(org.id, secret, previousValidUntil);
    request.log.info({ targetOrgId: org.id }, 'webhook secret rotated');
    return { organizationId: org.id, secret, previousSecretValidUntil: previousValidUntil.toISOString() };
  });
}
