import type { RateDecision } from './store.js';

/** The token-bucket arithmetic, shared by the stores (which only load and save the bucket atomically). */
export function takeToken(
  bucket: { tokens: number; updatedAt: number } | undefined,
  perMinute: number,
  now: number,
): { decision: RateDecision; tokens: number } {
  const capacity = perMinute;
  const perSecond = perMinute / 60;
  const elapsed = bucket ? Math.max(0, now - bucket.updatedAt) / 1000 : 0;
  let tokens = bucket ? Math.min(capacity, bucket.tokens + elapsed * perSecond) : capacity;
  const allowed = tokens >= 1;
  if (allowed) tokens -= 1;
  return {
    tokens,
    decision: {
      allowed,
      remaining: Math.floor(tokens),
      retryAfter: allowed ? 0 : Math.ceil((1 - tokens) / perSecond),
      reset: Math.ceil((capacity - tokens) / perSecond),
    },
  };
}
