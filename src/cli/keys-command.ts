import { parseArgs } from 'node:util';
import { isScope, issueApiKey } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { openStore } from '../backends.js';
import { SCOPES, type Store } from '../store/store.js';
import { UsageError } from './usage.js';

async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const { store } = await openStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function requireOrganization(store: Store, orgId: string | undefined, sub: string): Promise<string> {
  if (!orgId) throw new UsageError(`Expected --org <organization id> for keys ${sub}`);
  if (!(await store.getOrganization(orgId))) throw new UsageError(`Organization ${orgId} not found`);
  return orgId;
}

/** `keys create|list|revoke`: the operator's way to manage keys without one (operator keys are made only here). */
export async function keysCommand(args: string[], config: Config): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: sub === 'revoke',
    options: { org: { type: 'string' }, scope: { type: 'string' }, name: { type: 'string', default: 'cli' } },
  });
  switch (sub) {
    case 'create': {
      if (!isScope(values.scope)) {
        throw new UsageError(`Expected one of ${SCOPES.join(', ')} for --scope but received ${values.scope ?? 'nothing'}`);
      }
      const scope = values.scope;
      return withStore(config, async (store) => {
        const orgId = await requireOrganization(store, values.org, 'create');
        const { key, secret } = await issueApiKey(store, { orgId, name: values.name, scope });
        process.stdout.write(`${JSON.stringify({ id: key.id, organizationId: key.orgId, scope: key.scope, secret })}\n`);
      });
    }
    case 'list':
      return withStore(config, async (store) => {
        const orgId = await requireOrganization(store, values.org, 'list');
        for (const key of await store.listApiKeys(orgId)) {
          const { id, name, scope, createdAt, lastUsedAt, revokedAt } = key;
          process.stdout.write(`${JSON.stringify({ id, organizationId: orgId, name, scope, createdAt, lastUsedAt, revokedAt })}\n`);
        }
      });
    case 'revoke': {
      const keyId = positionals[0];
      if (!keyId || positionals.length > 1) throw new UsageError('Expected "keys revoke --org <organization id> <key id>"');
      return withStore(config, async (store) => {
        const orgId = await requireOrganization(store, values.org, 'revoke');
        const revoked = await store.revokeApiKey(orgId, keyId, new Date());
        if (!revoked) throw new UsageError(`API key ${keyId} not found in organization ${orgId}`);
        process.stdout.write(`${JSON.stringify({ id: revoked.id, organizationId: orgId, revokedAt: revoked.revokedAt })}\n`);
      });
    }
    default:
      throw new UsageError(`Expected "keys create", "keys list" or "keys revoke" but received "keys ${sub ?? ''}"`);
  }
}
