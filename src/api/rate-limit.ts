import type { FastifyReply } from 'fastify';
import { AppError } from '../errors.js';
import type { Caller } from './auth.js';
import type { ApiDeps } from './deps.js';

/**
 * Token bucket per API key, kept in the store so every API process draws from the same bucket. Every answer
 * carries the IETF RateLimit-Policy and RateLimit headers; over the limit is a 429 with Retry-After.
 */
export async function enforceRateLimit(deps: ApiDeps, key: Caller, reply: FastifyReply): Promise<void> {
  const perMinute = key.org.rateLimitPerMinute ?? deps.limits.ratePerMinute;
  const decision = await deps.store.takeRateToken(key.id, perMinute, Date.now());
  const headers = {
    'ratelimit-policy': `"per-key";q=${perMinute};w=60`,
    ratelimit: `"per-key";r=${decision.remaining};t=${decision.allowed ? decision.reset : decision.retryAfter}`,
  };
  reply.headers(headers);
  if (!decision.allowed) {
    throw new AppError(
      'RATE_LIMITED',
      429,
      `Rate limit of ${perMinute} requests a minute for this API key exceeded; retry in ${decision.retryAfter} s`,
      { ...headers, 'retry-after': String(decision.retryAfter) },
    );
  }
}
