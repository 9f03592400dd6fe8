import { parseArgs } from 'node:util';
import { NAME_LENGTH } from '../api/schemas.js';
import { issueApiKey } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { openStore } from '../backends.js';
import { newWebhookSecret } from '../webhooks/secret.js';
import { UsageError } from './usage.js';

/** Creates an organization with its first admin key (an operator's task, so not an API route). */
export async function orgsCommand(args: string[], config: Config): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create') throw new UsageError(`Expected "orgs create" but received "orgs ${sub ?? ''}"`);
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' } } });
  const { min, max } = NAME_LENGTH;
  if (!values.name || values.name.length < min || values.name.length > max) {
    throw new UsageError(`Expected --name <${min} to ${max} characters> for orgs create`);
  }
  const { store } = await openStore(config);
  try {
    const org = await store.createOrganization(values.name, newWebhookSecret());
    const { key, secret } = await issueApiKey(store, { orgId: org.id, name: 'admin', scope: 'admin' });
    process.stdout.write(
      `${JSON.stringify({ organizationId: org.id, name: org.name, keyId: key.id, scope: key.scope, secret })}\n`,
    );
  } finally {
    await store.close();
  }
}
