/**
 * Self-loop detection: would connecting to `address:port` reach one of the proxy's own listeners? Pure: the
 * caller hands in what is bound and this host's addresses. Addresses are compared in the form the kernel routes
 * them: an IPv4-mapped IPv6 address is its IPv4 address, and the unspecified addresses (`0.0.0.0`, `::`), which
 * Linux connects to loopback, count as loopback.
 */
import { formatIpAddress, type IpAddress, parseIpAddress, unmapIpv4 } from './address.js';

/** One bound TCP listener of this process. */
export interface SelfEndpoint {
  /** The bound address (no zone needed; any zone is ignored). */
  readonly address: string;
  readonly port: number;
  /**
   * True for a wildcard or interface listener: every local address of its family counts as the listener (the
   * interface's address can change under it; a wildcard `::` also takes IPv4). False: the bound address only.
   */
  readonly wide: boolean;
}

type Family = 'ipv4' | 'ipv6';

/** The address as the kernel routes it: unmapped, unspecified -> loopback, canonical text and family. */
function routed(text: string): { family: Family; key: string; unspecified: boolean } | null {
  const parsed = parseIpAddress(text);
  if (parsed === null) return null;
  const addr: IpAddress = unmapIpv4(parsed);
  if (addr.kind === 'ipv4') {
    if (addr.value === 0) return { family: 'ipv4', key: '127.0.0.1', unspecified: true };
    return { family: 'ipv4', key: formatIpAddress(addr), unspecified: false };
  }
  if (addr.parts.every((p) => p === 0)) return { family: 'ipv6', key: '::1', unspecified: true };
  return { family: 'ipv6', key: formatIpAddress(addr), unspecified: false };
}

/** True for 127.0.0.0/8 and ::1 (every loopback address of the family is this host). */
function isLoopback(r: { family: Family; key: string }): boolean {
  return r.family === 'ipv4' ? r.key.startsWith('127.') : r.key === '::1';
}

/**
 * True when a connection to `address:port` would reach one of `endpoints`. `localAddresses` are this host's
 * interface addresses (any form); loopback (127/8, ::1) is always local. Unparsable addresses are not self.
 */
export function isSelfLoop(
  address: string,
  port: number,
  endpoints: readonly SelfEndpoint[],
  localAddresses: readonly string[],
): boolean {
  let dest: ReturnType<typeof routed> | undefined;
  let local: Set<string> | undefined;
  for (const ep of endpoints) {
    if (ep.port !== port) continue;
    dest ??= routed(address);
    if (dest === null) return false;
    const bound = routed(ep.address);
    if (bound === null) continue;
    if (!ep.wide && !bound.unspecified) {
      if (bound.key === dest.key) return true;
      continue;
    }
    // A wildcard `::` listener is dual-stack: it takes IPv4 too.
    const families: Family[] =
      bound.family === 'ipv6' && bound.unspecified ? ['ipv6', 'ipv4'] : [bound.family];
    if (!families.includes(dest.family)) continue;
    if (isLoopback(dest) || dest.key === bound.key) return true;
    local ??= new Set(localAddresses.map((a) => routed(a)?.key).filter((k): k is string => k !== undefined));
    if (local.has(dest.key)) return true;
  }
  return false;
}
