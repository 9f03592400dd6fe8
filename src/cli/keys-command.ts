import { parseArgs } from 'node:util';
import { isScope, issueApiKey } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { openStore } from '../backends.js';
import { SCOPES } from '../store/store.js';
import { UsageError } from './usage.js';

export async function keysCommand(args: string[], config: Config): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create') throw new UsageError(`Expected "keys create" but received "keys ${sub ?? ''}"`);
  const { values } = parseArgs({
    args: rest,
    options: { org: { type: 'string' }, scope: { type: 'string' }, name: { type: 'string', default: 'cli' } },
  });
  if (!values.org) throw new UsageError('Expected --org <organization id> for keys create');
  if (!isScope(values.scope)) {
    throw new UsageError(`Expected one of ${SCOPES.join(', ')} for --scope but received ${values.scope ?? 'nothing'}`);
  }
  const { store } = await openStore(config);
  try {
    if (!(await store.getOrganization(values.org))) throw new UsageError(`Organization ${values.org} not found`);
    const { key, secret } = await issueApiKey(store, { orgId: values.org, name: values.name, scope: values.scope });
    process.stdout.write(`${JSON.stringify({ id: key.id, organizationId: key.orgId, scope: key.scope, secret })}\n`);
  } finally {
    await store.close();
  }
}
