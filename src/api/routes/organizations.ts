import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { issueApiKey, scopeAllows } from '../../auth/api-keys.js';
import { errors } from '../../errors.js';
import type { ApiKey } from '../../store/store.js';
import { newWebhookSecret } from '../../webhooks/secret.js';
import { callerOf, organizationOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { route } from '../route-contract.js';
import {
  apiKeyParams,
  apiKeyResponse,
  createApiKeyBody,
  createdApiKeyResponse,
  createdOrganizationResponse,
  createOrganizationBody,
  creditsBody,
  creditsResponse,
  limitsBody,
  limitsResponse,
  meResponse,
  organizationParams,
  webhookSecretResponse,
} from '../schemas.js';

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

/**
 * The calling key, organizations and their keys, credits, limits and webhook secret. Which organization a
 * route may act on is checked by the onRequest hook (`ownOrganization`), before any handler runs.
 */
export const organizationRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { store } = deps;

  route(
    app,
    {
      method: 'GET',
      url: '/me',
      operationId: 'me',
      summary: 'the calling key: its organization, name, scope, credits and limits',
      scope: 'generator',
      success: { status: 200, body: meResponse, description: 'the key' },
    },
    async ({ request }) => {
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
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/organizations',
      operationId: 'createOrganization',
      summary: 'create an organization with its first admin key (operator)',
      scope: 'operator',
      body: createOrganizationBody,
      success: { status: 201, body: createdOrganizationResponse, description: 'the organization and its admin key (shown once)' },
    },
    async ({ request, body }) => {
      const input = body();
      const org = await store.createOrganization(input.name, newWebhookSecret());
      const { key, secret } = await issueApiKey(store, { orgId: org.id, name: 'admin', scope: 'admin' });
      request.log.info({ newOrgId: org.id, newKeyId: key.id }, 'organization created');
      return { organizationId: org.id, name: org.name, keyId: key.id, scope: key.scope, secret };
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/organizations/:orgId/api-keys',
      operationId: 'createApiKey',
      summary: 'create an API key (admin); the secret is shown once',
      scope: 'admin',
      ownOrganization: true,
      params: organizationParams,
      body: createApiKeyBody,
      success: { status: 201, body: createdApiKeyResponse, description: 'the key, with its secret (shown once)' },
    },
    async ({ request, body }) => {
      const org = organizationOf(request);
      const input = body();
      const created = await issueApiKey(store, { orgId: org.id, name: input.name, scope: input.scope });
      request.log.info({ newKeyId: created.key.id, scope: input.scope }, 'api key created');
      const { id, organizationId, name, scope, createdAt } = presentKey(created.key);
      return { id, organizationId, name, scope, createdAt, secret: created.secret };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/organizations/:orgId/api-keys',
      operationId: 'listApiKeys',
      summary: "the organization's API keys, never their secrets (admin)",
      scope: 'admin',
      ownOrganization: true,
      params: organizationParams,
      success: { status: 200, body: z.array(apiKeyResponse), description: 'the keys' },
    },
    async ({ request }) => (await store.listApiKeys(organizationOf(request).id)).map(presentKey),
  );

  // Every API process reads the key from the store on each request, so a revoked key is refused at once everywhere.
  route(
    app,
    {
      method: 'DELETE',
      url: '/organizations/:orgId/api-keys/:keyId',
      operationId: 'revokeApiKey',
      summary: 'revoke an API key, at once on every API process (admin)',
      scope: 'admin',
      ownOrganization: true,
      params: apiKeyParams,
      success: { status: 200, body: apiKeyResponse, description: 'the revoked key' },
      errors: ['NOT_FOUND'],
    },
    async ({ request, params }) => {
      const orgId = organizationOf(request).id;
      const caller = callerOf(request);
      // a key's scope never changes, so reading it first and revoking after leaves no gap to exploit
      const target = (await store.listApiKeys(orgId)).find((key) => key.id === params.keyId);
      if (target && !scopeAllows(caller.scope, target.scope)) {
        throw errors.forbidden(
          `Expected scope ${target.scope} or higher to revoke a key of scope ${target.scope} but this API key has scope ${caller.scope}`,
        );
      }
      const revoked = target ? await store.revokeApiKey(orgId, params.keyId, new Date()) : null;
      if (!revoked) throw errors.notFound(`API key ${params.keyId} not found`);
      request.log.info({ revokedKeyId: revoked.id }, 'api key revoked');
      return presentKey(revoked);
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/organizations/:orgId/webhook-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'rotate the webhook signing secret (admin)',
      scope: 'admin',
      ownOrganization: true,
      params: organizationParams,
      success: { status: 200, body: webhookSecretResponse, description: 'the new secret (shown once)' },
    },
    async ({ request }) => {
      const org = organizationOf(request);
      const secret = newWebhookSecret();
      const previousValidUntil = new Date(Date.now() + deps.webhookSecretGraceMs);
      await store.rotateWebhookSecret(org.id, secret, previousValidUntil);
      request.log.info({ targetOrgId: org.id }, 'webhook secret rotated');
      return { organizationId: org.id, secret, previousSecretValidUntil: previousValidUntil.toISOString() };
    },
  );

  // Credits and limits are the operator's: an organization's own admin never raises its own.
  route(
    app,
    {
      method: 'POST',
      url: '/organizations/:orgId/credits',
      operationId: 'setCredits',
      summary: 'add credits, or make them unlimited (operator)',
      scope: 'operator',
      ownOrganization: true,
      params: organizationParams,
      body: creditsBody,
      success: { status: 200, body: creditsResponse, description: 'the balance; null: unlimited' },
    },
    async ({ request, body }) => {
      const org = organizationOf(request);
      const input = body();
      await store.setCredits(org.id, input.unlimited ? { unlimited: true } : { add: input.add ?? 0 });
      request.log.info({ targetOrgId: org.id, change: input }, 'credits changed');
      return { organizationId: org.id, credits: (await store.getOrganization(org.id))?.credits ?? null };
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/organizations/:orgId/limits',
      operationId: 'setLimits',
      summary: "set the organization's rate limit and unfinished-artwork cap (operator)",
      scope: 'operator',
      ownOrganization: true,
      params: organizationParams,
      body: limitsBody,
      success: { status: 200, body: limitsResponse, description: 'the limits; null: the server default' },
    },
    async ({ request, body }) => {
      const org = organizationOf(request);
      const input = body();
      await store.setLimits(org.id, { rateLimitPerMinute: input.rateLimitPerMinute, maxUnfinished: input.maxUnfinishedArtworks });
      request.log.info({ targetOrgId: org.id, limits: input }, 'limits changed');
      return { organizationId: org.id, ...input };
    },
  );
};
