import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { isDiskFull } from '../store/disk-full.js';
import { takeToken } from '../store/rate-bucket.js';
import type { RateDecision } from '../store/store.js';
import type { Caller } from './auth.js';
import type { ApiDeps } from './deps.js';

/**
 * When the shared buckets cannot be written (the disk is full), each process keeps limiting with buckets of
 * its own, so reads keep working and the limit still holds per process. Readiness reports the condition and
 * each such request logs a warning: the fallback is never silent.
 */
const localBuckets = new Map<string, { tokens: number; updatedAt: number }>();

function takeLocalToken(orgId: string, perMinute: number, now: number): RateDecision {
  const { decision, tokens } = takeToken(localBuckets.get(orgId), perMinute, now);
  localBuckets.set(orgId, { tokens, updatedAt: now });
  return decision;
}

/**
 * One token bucket per organization, whichever of its keys calls (so an admin cannot raise the organization's
 * limit by making keys), kept in the store so every API process draws from the same bucket. Every answer
 * carries the IETF RateLimit-Policy and RateLimit headers; over the limit is a 429 with Retry-After.
 */
export async function enforceRateLimit(deps: ApiDeps, key: Caller, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const perMinute = key.org.rateLimitPerMinute ?? deps.limits.ratePerMinute;
  const now = Date.now();
  let decision: RateDecision;
  try {
    decision = await deps.store.takeRateToken(key.orgId, perMinute, now);
  } catch (error) {
    if (!isDiskFull(error)) throw error;
    deps.storage.reportFull(now);
    request.log.warn({ err: error }, 'rate-limit bucket not saved (storage full): limiting in this process only');
    decision = takeLocalToken(key.orgId, perMinute, now);
  }
  const headers = {
    'ratelimit-policy': `"per-organization";q=${perMinute};w=60`,
    ratelimit: `"per-organization";r=${decision.remaining};t=${decision.allowed ? decision.reset : decision.retryAfter}`,
  };
  reply.headers(headers);
  if (!decision.allowed) {
    throw errors.rateLimited(perMinute, decision.retryAfter, headers);
  }
}
