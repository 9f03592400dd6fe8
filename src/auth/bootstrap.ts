import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import { newWebhookSecret } from '../webhooks/secret.js';
import { issueApiKey } from './api-keys.js';

export interface BootstrapResult {
  orgId: string;
  /** Set when the secret was generated here and must be shown to the operator, once. */
  generatedSecret: string | undefined;
}

/**
 * On an empty store, creates the first organization and its operator key (service-wide: organizations,
 * credits and limits; and an admin of its own organization): from BOOTSTRAP_API_KEY when given,
 * otherwise a generated secret that the caller prints once. Does nothing when an organization exists.
 */
export async function bootstrapFirstOrganization(
  store: Store,
  bootstrapApiKey: string | undefined,
): Promise<BootstrapResult | null> {
  if ((await store.countOrganizations()) > 0) return null;
  // Several processes may start together on one database: the first to record itself does the bootstrap.
  const claim = randomUUID();
  if ((await store.getOrInitSetting('bootstrap-claimed-by', claim)) !== claim) return null;
  const org = await store.createOrganization('default', newWebhookSecret());
  const { secret } = await issueApiKey(store, {
    orgId: org.id,
    name: 'bootstrap operator',
    scope: 'operator',
    secret: bootstrapApiKey,
  });
  return { orgId: org.id, generatedSecret: bootstrapApiKey ? undefined : secret };
}
