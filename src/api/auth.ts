import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashApiKeySecret, scopeAllows } from '../auth/api-keys.js';
import { errors } from '../errors.js';
import { isDiskFull } from '../store/disk-full.js';
import type { ApiKey, Organization, Scope } from '../store/store.js';
import type { ApiDeps } from './deps.js';
import { enforceRateLimit } from './rate-limit.js';

/** The calling key with its organization, read once per request (limits, credits, names). */
export type Caller = ApiKey & { org: Organization };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; the key is checked in onRequest, before any of the body is read. */
    scope?: Scope;
    /** What the route's body may be, for the 415 message (application/json when not set). */
    accepts?: string;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/**
 * The calling key, or a 401/403/429. 401: no credentials, not a Bearer token, unknown or revoked key.
 * 403: a valid key whose scope is below what the route needs. 429: the key is over its rate limit.
 */
export async function authenticate(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  need: Scope,
): Promise<Caller> {
  const { store } = deps;
  const header = request.headers.authorization;
  if (!header) throw errors.unauthorized('Missing Authorization header; expected "Authorization: Bearer <api key>"');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match?.[1]) throw errors.unauthorized('Expected "Authorization: Bearer <api key>"; the header is not a Bearer token');
  const key = await store.findApiKeyBySecretHash(hashApiKeySecret(match[1]));
  if (!key || key.revokedAt !== null) throw errors.unauthorized('Invalid or revoked API key');
  if (!scopeAllows(key.scope, need)) {
    throw errors.forbidden(`This API key has scope ${key.scope}; this route needs ${need} or higher`);
  }
  const org = await store.getOrganization(key.orgId);
  if (!org) throw errors.unauthorized('Invalid or revoked API key');
  request.log = request.log.child({ orgId: key.orgId, keyId: key.id });
  const caller: Caller = { ...key, org };
  await enforceRateLimit(deps, caller, request, reply);
  // "last used" is bookkeeping: a failure to record it (a full disk) must not refuse the request
  await store.touchApiKey(key.id, new Date()).catch((error: unknown) => {
    if (isDiskFull(error)) deps.storage.reportFull();
    request.log.warn({ err: error }, 'last use of the API key not recorded');
  });
  return caller;
}

/**
 * Routes declare `config: { scope }`; the key is checked in onRequest, so a request without a valid key is
 * answered before a byte of its body is read.
 */
export function installAuthentication(app: FastifyInstance, deps: ApiDeps): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request, reply) => {
    const need = request.routeOptions.config?.scope;
    if (!need) return;
    // a refusal here is answered before the body is read (see closeIfBodyUnread in error-handler.ts)
    request.caller = await authenticate(deps, request, reply, need);
  });
}

/** The caller that the onRequest hook authenticated for a route with `config.scope`. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url ?? ''} has no config.scope`);
  return request.caller;
}
