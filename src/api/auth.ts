import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { hashApiKeySecret, scopeAllows } from '../auth/api-keys.js';
import { errors } from '../errors.js';
import { isDiskFull } from '../store/disk-full.js';
import { lastUseDue, type ApiKey, type Organization, type Scope, type Store } from '../store/store.js';
import type { ApiDeps } from './deps.js';
import { enforceRateLimit } from './rate-limit.js';

/** The calling key with its organization, read once per request (limits, credits, names). */
export type Caller = ApiKey & { org: Organization };

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The organization a route with `ownOrganization` acts on, checked in onRequest. */
    organization: Organization | null;
  }
}

/**
 * The calling key, or a 401/403/429. 401: no credentials, not a Bearer token, unknown or revoked key.
 * 403: a valid key whose scope is below what the route needs. 429: the key is over its rate limit.
 */
async function authenticate(
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
  // read from the store on every request, so that a revocation refuses the very next one in every process
  const found = await store.findApiKeyWithOrganization(hashApiKeySecret(match[1]));
  if (!found || found.key.revokedAt !== null) throw errors.unauthorized('Invalid or revoked API key');
  const { key, org } = found;
  if (!scopeAllows(key.scope, need)) {
    throw errors.forbidden(`This API key has scope ${key.scope}; this route needs ${need} or higher`);
  }
  // request.log is this request's own child of the service's pino logger (server.ts; Fastify makes one per request):
  // binding the caller to it costs less than a second child per request
  (request.log as Logger).setBindings({ orgId: key.orgId, keyId: key.id });
  const caller: Caller = { ...key, org };
  await enforceRateLimit(deps, caller, request, reply);
  const now = new Date();
  // the key's row was just read: when it already records a use within the minute, the write would change nothing
  if (lastUseDue(key.lastUsedAt, now)) {
    // "last used" is bookkeeping: a failure to record it (a full disk) must not refuse the request
    await store.touchApiKey(key.id, now).catch((error: unknown) => {
      if (isDiskFull(error)) deps.storage.reportFull();
      request.log.warn({ err: error }, 'last use of the API key not recorded');
    });
  }
  return caller;
}

/**
 * The organization a route acts on. An organization's own keys reach only it: another id is a 404, like its
 * artworks, so a key learns nothing about other organizations. An operator key reaches every organization.
 */
async function targetOrganization(store: Store, caller: Caller, orgId: string): Promise<Organization> {
  if (orgId === caller.orgId) return caller.org;
  const org = caller.scope === 'operator' ? await store.getOrganization(orgId) : null;
  if (!org) throw errors.notFound(`Organization ${orgId} not found`);
  return org;
}

/** True when the request brings a signed URL's parameters, which the route's handler verifies instead of a key. */
function bringsSignature(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown>;
  return query.signature !== undefined || query.expires !== undefined;
}

/**
 * The one place where keys, scopes and organization ownership are checked, from each route's contract (its
 * `scope`, `signedUrlInsteadOfKey`, `ownOrganization`). In onRequest, so that a request without a valid key is
 * answered before a byte of its body is read; handlers never authenticate.
 */
export function installAuthentication(app: FastifyInstance, deps: ApiDeps): void {
  app.decorateRequest('caller', null);
  app.decorateRequest('organization', null);
  app.addHook('onRequest', async (request, reply) => {
    const contract = request.routeOptions.config.contract;
    if (contract?.scope === undefined) return;
    if (contract.signedUrlInsteadOfKey && bringsSignature(request)) return;
    // a refusal here is answered before the body is read (see closeIfBodyUnread in error-handler.ts)
    const caller = await authenticate(deps, request, reply, contract.scope);
    request.caller = caller;
    if (contract.ownOrganization) {
      const { orgId } = request.params as { orgId?: string };
      if (orgId === undefined) throw new Error(`route ${contract.url} is ownOrganization but has no :orgId`);
      request.organization = await targetOrganization(deps.store, caller, orgId);
    }
  });
}

/** The caller that the onRequest hook authenticated, for a route whose contract has a scope. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url ?? ''} has no scope in its contract`);
  return request.caller;
}

/** The organization that the onRequest hook checked, for a route whose contract has `ownOrganization`. */
export function organizationOf(request: FastifyRequest): Organization {
  if (!request.organization) throw new Error(`route ${request.routeOptions.url ?? ''} has no ownOrganization in its contract`);
  return request.organization;
}
