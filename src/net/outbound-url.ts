import { literalAddressBlocked, type AddressPolicy } from './guarded-agent.js';

/** Answers that send an outbound fetch elsewhere; the next hop's URL is checked like the first. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** A URL that may be fetched, or why not: not an http(s) URL, or an IP literal the address policy refuses. */
export type OutboundUrlCheck =
  | { url: URL }
  | { problem: 'bad-url'; message: string }
  | { problem: 'blocked'; message: string; host: string };

/**
 * The checks every outbound fetch of a URL someone gave us makes before connecting (images, model files):
 * hostnames are checked later, at connect time, by the guarded agent's lookup.
 */
export function checkOutboundUrl(raw: string, policy: AddressPolicy): OutboundUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'bad-url', message: `Expected an absolute http or https URL but received ${raw}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: 'bad-url', message: `Expected an http or https URL but received ${url.protocol} (${url.href})` };
  }
  if (literalAddressBlocked(url, policy)) {
    return { problem: 'blocked', host: url.host, message: `${url.host} is a loopback, private or otherwise non-public address` };
  }
  return { url };
}
