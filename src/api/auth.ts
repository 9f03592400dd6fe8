import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashApiKeySecret, scopeAllows } from '../auth/api-keys.js';
import { errors } from '../errors.js';
import type { ApiKey, Organization, Scope } from '../store/store.js';
import type { ApiDeps } from './deps.js';
import { enforceRateLimit } from './rate-limit.js';

/** The calling key with its organization, read once per request (limits, credits, names). */
export type Caller = ApiKey & { org: Organization };

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
  await enforceRateLimit(deps, caller, reply);
  return caller;
}
