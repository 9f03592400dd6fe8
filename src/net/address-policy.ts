import ipaddr from 'ipaddr.js';

/** IANA's global unicast block: IPv6 outside it is reserved or unassigned, which ipaddr.js still calls 'unicast'. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * An address as ipaddr.js should see it. IPv6 goes through the URL parser's canonical form first: ipaddr.js
 * reads `::a.b.c.d` (IPv4-compatible, how inet_ntop prints ::/96) as IPv4-mapped, which would make
 * `::8.8.8.8` look public; the canonical form never has a dotted quad in it.
 */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!address.includes(':')) return ipaddr.IPv4.isValid(address) ? ipaddr.IPv4.parse(address) : null;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  return ipaddr.IPv6.isValid(canonical) ? ipaddr.IPv6.parse(canonical) : null;
}

/**
 * True only for globally routable unicast addresses. Refuses loopback, private, link-local (cloud metadata at
 * 169.254.169.254 and fd00:ec2::254 included), CGNAT, unique-local, multicast, reserved and unspecified ranges,
 * for IPv4, IPv6 and IPv4-mapped IPv6 alike; IPv6 must also be inside 2000::/3, so IPv4-compatible ::/96
 * (`::127.0.0.1`) and the rest of the reserved space are refused.
 */
export function isPublicAddress(address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast';
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() === 'unicast';
  return v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST_V6);
}

/**
 * A host name that resolves to an address the policy refuses. The message does not name the address: it reaches
 * users (an artwork's error, a webhook attempt), and would tell them what internal names resolve to.
 */
export class BlockedAddressError extends Error {
  constructor(readonly host: string) {
    super(`${host} resolves to a loopback, private or otherwise non-public address`);
    this.name = 'BlockedAddressError';
  }
}
