import { createHash, randomBytes } from 'node:crypto';
import { SCOPES, type ApiKey, type Scope, type Store } from '../store/store.js';

/** Secrets carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newApiKeySecret(): string {
  return `fr_${randomBytes(32).toString('base64url')}`;
}

/** Scopes form a hierarchy: generator < manager < admin. */
export function scopeAllows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Creates a key; the secret is returned here once and only its hash is stored. */
export async function issueApiKey(
  store: Store,
  input: { orgId: string; name: string; scope: Scope; secret?: string },
): Promise<{ key: ApiKey; secret: string }> {
  const secret = input.secret ?? newApiKeySecret();
  const key = await store.createApiKey({
    orgId: input.orgId,
    name: input.name,
    scope: input.scope,
    secretHash: hashApiKeySecret(secret),
  });
  return { key, secret };
}
