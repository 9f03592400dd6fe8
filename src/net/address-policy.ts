import ipaddr from 'ipaddr.js';

/**
 * True only for globally routable unicast addresses. Refuses loopback, private, link-local (cloud metadata at
 * 169.254.169.254 and fd00:ec2::254 included), CGNAT, unique-local, multicast, reserved and unspecified ranges,
 * for IPv4, IPv6 and IPv4-mapped IPv6 alike.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

export class BlockedAddressError extends Error {
  constructor(readonly host: string, readonly address: string) {
    super(`${host} resolves to ${address}, a loopback, private or otherwise non-public address`);
    this.name = 'BlockedAddressError';
  }
}
