import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { BlockedAddressError, isPublicAddress } from './address-policy.js';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * DNS lookup that refuses non-public addresses. It runs at connect time, on the address the socket will use,
 * so a name that resolves to a public address when checked and a private one when used (DNS rebinding)
 * cannot get through.
 */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
    if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

export interface AgentOptions {
  allowPrivateNetworks: boolean;
  connectTimeoutMs: number;
}

/** An undici dispatcher for outgoing calls to addresses that users give us (images, webhooks). */
export function createOutboundAgent(options: AgentOptions): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs,
      ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
    },
  });
}

/** Hostnames that are IP literals never reach the lookup: they are checked here before connecting. */
export function literalAddressBlocked(url: URL, allowPrivateNetworks: boolean): string | null {
  if (allowPrivateNetworks) return null;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const isLiteral = /^[0-9.]+$/.test(host) || host.includes(':');
  if (!isLiteral) return null;
  return isPublicAddress(host) ? null : host;
}
