import type { AddressPolicy } from '../net/guarded-agent.js';
import { checkOutboundUrl } from '../net/outbound-url.js';

/** A webhook URL that may be delivered to, or why not (the same words at create time and on a refused delivery). */
export type WebhookUrlCheck = { url: URL } | { message: string };

/**
 * The rule for a webhook URL, checked when the artwork is created and again before every delivery (a stored URL
 * may predate the rule, or ALLOW_PRIVATE_NETWORKS may have been switched off since): an outbound URL under the
 * images' address policy (an IP literal is refused here, a host name when it resolves, at connect time), and
 * https unless plain http is allowed.
 */
export function checkWebhookUrl(raw: string, policy: AddressPolicy, allowHttp: boolean): WebhookUrlCheck {
  const checked = checkOutboundUrl(raw, policy);
  if (!('url' in checked)) {
    if (checked.problem === 'bad-url') return { message: `webhook: ${checked.message}` };
    return { message: `Expected a public address for webhook but received ${checked.host} (a loopback, private or otherwise non-public address)` };
  }
  if (!allowHttp && checked.url.protocol !== 'https:') {
    return { message: `webhook must be an https URL (received ${JSON.stringify(raw)})` };
  }
  return { url: checked.url };
}

