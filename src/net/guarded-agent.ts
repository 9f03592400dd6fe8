import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { BlockedAddressError, isPublicAddress } from './address-policy.js';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type Resolver = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, callback) => dns.lookup(hostname, { all: true }, callback);

/** Which addresses outgoing calls may reach. Tests pass their own rule and resolver; production uses these. */
export interface AddressPolicy {
  isAllowed(address: string): boolean;
  resolve: Resolver;
}

export function addressPolicy(allowPrivateNetworks: boolean): AddressPolicy {
  return { isAllowed: allowPrivateNetworks ? () => true : isPublicAddress, resolve: systemResolver };
}

/**
 * A DNS lookup that refuses addresses the policy does not allow. It runs at connect time, on the address the
 * socket will use, so a name that resolves to a public address when checked and a private one when used
 * (DNS rebinding) cannot get through.
 */
function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    policy.resolve(hostname, (error, addresses) => {
      if (error) return callback(error, []);
      const wanted =
        options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      const blocked = wanted.find((entry) => !policy.isAllowed(entry.address));
      if (blocked) return callback(new BlockedAddressError(hostname), []);
      if (options.all) return callback(null, wanted);
      const first = wanted[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/** An undici dispatcher for outgoing calls to addresses that users give us (images, webhooks). */
export function createOutboundAgent(policy: AddressPolicy, connectTimeoutMs: number): Agent {
  return new Agent({ connect: { timeout: connectTimeoutMs, lookup: guardedLookup(policy) } });
}

/** Hostnames that are IP literals never reach the lookup: they are checked here before connecting. */
export function literalAddressBlocked(url: URL, policy: AddressPolicy): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const isLiteral = /^[0-9.]+$/.test(host) || host.includes(':');
  if (!isLiteral) return null;
  return policy.isAllowed(host) ? null : host;
}
