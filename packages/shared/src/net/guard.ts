/**
 * The private-address guard: is a resolved destination address one a proxy on this host must never connect to?
 * Tables are written out here (not ipaddr.js `range()`): ipaddr.js misreads `::a.b.c.d`, has no Teredo/6to4
 * embedding check and names ranges differently; one table keeps the categories stable for logs and metrics.
 */
import { type IpAddress, parseIpAddress } from './address.js';
import { type AddressRange, type AddressRangeSet, parseAddressRange, rangeContains } from './cidr.js';
import { isIpv4Mapped, low32 } from './ipv6.js';

/** Why an address is guarded (or `public`). */
export type GuardCategory =
  | 'public'
  | 'invalid'
  | 'unspecified'
  | 'this_network'
  | 'broadcast'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'site_local'
  | 'unique_local'
  | 'multicast'
  | 'ietf_protocol'
  | 'documentation'
  | 'benchmarking'
  | 'relay_anycast'
  | 'discard'
  | 'orchid'
  | 'nat64_local'
  | 'reserved';

/** How a guarded IPv4 address was carried inside an IPv6 one. */
export type GuardEmbedding = 'ipv4_mapped' | 'ipv4_compatible' | 'nat64' | '6to4' | 'teredo';

export interface GuardResult {
  readonly guarded: boolean;
  readonly category: GuardCategory;
  /** Set when the category comes from an IPv4 address embedded in an IPv6 one. */
  readonly embedding?: GuardEmbedding | undefined;
  /** True when the address was guarded but `destinations.allow_ranges` exempts it. */
  readonly exempt?: boolean | undefined;
}

type Row = readonly [AddressRange, GuardCategory];
const rows = (list: readonly (readonly [string, GuardCategory])[]): Row[] =>
  list.map(([cidr, cat]) => [parseAddressRange(cidr), cat]);

// Order matters: the first row that contains the address names its category.
const IPV4_ROWS = rows([
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'this_network'], // includes 0.0.0.0, which Linux connects to loopback
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['169.254.0.0/16', 'link_local'], // 169.254.169.254: cloud metadata
  ['192.0.0.0/24', 'ietf_protocol'],
  ['192.0.2.0/24', 'documentation'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['198.18.0.0/15', 'benchmarking'],
  ['192.88.99.0/24', 'relay_anycast'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const IPV6_ROWS = rows([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'nat64_local'], // RFC 8215 local-use: site-defined embedding, guarded whole
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'site_local'],
  ['fc00::/7', 'unique_local'],
  ['ff00::/8', 'multicast'],
  ['100::/64', 'discard'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'orchid'],
  ['2001:20::/28', 'orchid'],
]);

const GLOBAL_UNICAST = parseAddressRange('2000::/3');

function classifyV4(value: number): GuardCategory {
  const addr: IpAddress = { kind: 'ipv4', value };
  for (const [range, cat] of IPV4_ROWS) if (rangeContains(range, addr)) return cat;
  return 'public';
}

function embeddedV4(parts: readonly number[]): [GuardEmbedding, number[]] | null {
  const [p0, p1, p2, p3, p4, p5] = parts as [number, number, number, number, number, number];
  if (isIpv4Mapped(parts)) return ['ipv4_mapped', [low32(parts)]];
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are caught by the table first.
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0)
    return ['ipv4_compatible', [low32(parts)]];
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0)
    return ['nat64', [low32(parts)]];
  if (p0 === 0x2002) return ['6to4', [(p1 * 65536 + p2) >>> 0]];
  // Teredo: server IPv4 in bits 32-63, client IPv4 inverted in the last 32 bits. Both are checked.
  if (p0 === 0x2001 && p1 === 0) return ['teredo', [(p2 * 65536 + p3) >>> 0, ~low32(parts) >>> 0]];
  return null;
}

function classify(addr: IpAddress): { category: GuardCategory; embedding?: GuardEmbedding } {
  if (addr.kind === 'ipv4') return { category: classifyV4(addr.value) };
  for (const [range, cat] of IPV6_ROWS) if (rangeContains(range, addr)) return { category: cat };
  const emb = embeddedV4(addr.parts);
  if (emb !== null) {
    for (const v4 of emb[1]) {
      const category = classifyV4(v4);
      if (category !== 'public') return { category, embedding: emb[0] };
    }
    return { category: 'public' };
  }
  // Outside 2000::/3 nothing is assigned for global unicast: refuse it.
  if (!rangeContains(GLOBAL_UNICAST, addr)) return { category: 'reserved' };
  return { category: 'public' };
}

/**
 * Classifies a resolved address. `guarded` is true for anything but a public unicast address, including IPv4
 * addresses embedded in IPv6 (mapped, compatible, NAT64 64:ff9b::/96, 6to4, Teredo), unless `allowRanges`
 * (`destinations.allow_ranges`) contains the address. Unparsable text is guarded (`invalid`): fail closed.
 */
export function isGuardedAddress(
  addr: string | IpAddress,
  allowRanges?: AddressRangeSet | null,
): GuardResult {
  const parsed = typeof addr === 'string' ? parseIpAddress(addr) : addr;
  if (parsed === null) return { guarded: true, category: 'invalid' };
  const { category, embedding } = classify(parsed);
  if (category === 'public') return { guarded: false, category };
  if (allowRanges?.has(parsed)) return { guarded: false, category, embedding, exempt: true };
  return { guarded: true, category, embedding };
}
