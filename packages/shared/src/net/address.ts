import { formatIpv4, parseIpv4Strict } from './ipv4.js';
import { formatIpv6, isIpv4Mapped, isValidZone, low32, parseIpv6 } from './ipv6.js';

/** A parsed IP address. IPv4 is an unsigned 32-bit number; IPv6 eight 16-bit groups and an optional zone. */
export type IpAddress =
  | { readonly kind: 'ipv4'; readonly value: number }
  | { readonly kind: 'ipv6'; readonly parts: readonly number[]; readonly zone?: string | undefined };

/**
 * Parses an address as sockets and resolvers write it: a strict dotted quad, or IPv6 text, optionally bracketed,
 * optionally with a zone (`fe80::1%eth0`, `%25eth0`). Not for URL hosts: see `normalizeHost` for inet_aton forms.
 */
export function parseIpAddress(text: string): IpAddress | null {
  let s = text;
  if (s.length > 1 && s.charCodeAt(0) === 0x5b && s.charCodeAt(s.length - 1) === 0x5d) s = s.slice(1, -1);
  if (s.indexOf(':') === -1) {
    const value = parseIpv4Strict(s);
    return value === null ? null : { kind: 'ipv4', value };
  }
  let zone: string | undefined;
  const pct = s.indexOf('%');
  if (pct !== -1) {
    zone = s.slice(pct + 1);
    if (zone.startsWith('25') && zone.length > 2) zone = zone.slice(2);
    if (!isValidZone(zone)) return null;
    s = s.slice(0, pct);
  }
  const parts = parseIpv6(s);
  if (parts === null) return null;
  return zone === undefined ? { kind: 'ipv6', parts } : { kind: 'ipv6', parts, zone };
}

/** Canonical text of an address, without its zone. */
export function formatIpAddress(addr: IpAddress): string {
  return addr.kind === 'ipv4' ? formatIpv4(addr.value) : formatIpv6(addr.parts);
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, as Node reports clients on dual-stack
 * sockets) stands for, else the address itself.
 */
export function unmapIpv4(addr: IpAddress): IpAddress {
  if (addr.kind === 'ipv6' && isIpv4Mapped(addr.parts)) return { kind: 'ipv4', value: low32(addr.parts) };
  return addr;
}
