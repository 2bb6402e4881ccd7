/**
 * The nftables file that closes the bridge, three tables of one name (`firewall.table`), loaded in one
 * transaction:
 *
 * - `inet`: what reaches the host's IP stack from the bridge: only TCP to the proxy's address and port and the
 *   ICMPv6 neighbour discovery needs; nothing is forwarded to or from it at L3. LXD's dnsmasq still answers DNS on
 *   `[fe80::1%bridge]:53` with `dns.mode: none` (a tunnel out through the host's resolver), and anything on `[::]`
 *   (sshd) would be reachable too. The proxy's address and port arriving on any other interface are dropped: other
 *   bridges may hold fe80::1 as well.
 * - `netdev`, the bridge guard: a chain on the ingress hook of the bridge device itself, so it sees every frame
 *   the bridge passes up to the host, from every port, and nothing of any other bridge (this kernel has no
 *   `meta ibrname`: CONFIG_NFT_BRIDGE_META is off, so a `bridge` family chain cannot tell bridges apart). It fails
 *   closed: only IPv6 whose (source MAC, source address) pair is in set `pairs` passes, `::` only for a neighbour
 *   solicitation whose target is the sender's own address (duplicate address detection), a neighbour
 *   advertisement only for the sender's own address (set `targets`), then only router/neighbour solicitations,
 *   MLDv2 reports and TCP to the proxy. IPv4, ARP, VLAN-tagged frames, router advertisements, redirects and
 *   everything else are dropped. The sets are filled from LXD's instances (guard-sets.ts) by `apply` and kept in
 *   step by `identity --watch --guard`; a frame from a container the sets do not know yet is dropped.
 * - `bridge`: the forward hook, where frames between ports pass: any frame from or to a MAC in set `macs` (the
 *   instances' NICs on this bridge) is dropped. With LXD's `security.port_isolation` on every profile NIC (set by
 *   LXD when it plugs the veth in, before the container runs) the kernel bridge itself forwards nothing between
 *   them either, also for a container not yet in the set. Neither depends on `br_netfilter`.
 *
 * The guard and bridge tables are flushed and redefined, not deleted, on every load (the unit's ExecStartPre), so
 * their set elements survive a reload; the inet table is deleted and redefined.
 */
import type { HostConfig } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';
import { bridgeAddress } from './proxy-url.js';

/** ICMPv6 types neighbour discovery and MLD need (RFC 4861, RFC 3810). */
const ND_TYPES = [
  'nd-router-solicit',
  'nd-neighbor-solicit',
  'nd-neighbor-advert',
  'mld-listener-report',
  'mld-listener-done',
  'mld2-listener-report',
];

/** The ICMPv6 messages the guard lets through from a known (MAC, address) pair (NA is checked on its own). */
const GUARD_ICMP = ['nd-router-solicit', 'nd-neighbor-solicit', 'mld2-listener-report'];

/** ICMPv6 NS/NA target address: the 128 bits after type, code, checksum and 32 reserved bits. */
const ND_TARGET = '@th,64,128';

/** The sets the guard and bridge tables hold, filled by guard-sets.ts. */
export const GUARD_SETS = { pairs: 'pairs', targets: 'targets', macs: 'macs' } as const;

/** The netdev (guard) table's text. */
export function renderGuardTable(config: HostConfig): string {
  const t = config.firewall.table;
  const br = JSON.stringify(config.bridge.name);
  const addr = bridgeAddress(config);
  const port = config.proxy.port;
  const v4 = config.firewall.allow_ipv4
    ? '\t\tether type { ip, arp } accept comment "firewall.allow_ipv4"\n'
    : '';
  return `table netdev ${t}
flush table netdev ${t}
table netdev ${t} {
\tset ${GUARD_SETS.pairs} {
\t\ttype ether_addr . ipv6_addr
\t}

\tset ${GUARD_SETS.targets} {
\t\ttypeof ether saddr . ${ND_TARGET}
\t}

\tchain ingress {
\t\ttype filter hook ingress device ${br} priority -500; policy drop;
\t\tether type ip6 jump from_container
${v4}\t\tcounter drop
\t}

\tchain from_container {
\t\tip6 saddr :: icmpv6 type nd-neighbor-solicit ether saddr . ${ND_TARGET} @${GUARD_SETS.targets} accept
\t\tip6 saddr :: counter drop
\t\tether saddr . ip6 saddr != @${GUARD_SETS.pairs} counter drop
\t\ticmpv6 type nd-neighbor-advert ether saddr . ${ND_TARGET} @${GUARD_SETS.targets} accept
\t\ticmpv6 type nd-neighbor-advert counter drop
\t\ticmpv6 type { ${GUARD_ICMP.join(', ')} } accept
\t\tip6 daddr ${addr} tcp dport ${port} accept
\t\tcounter drop
\t}
}
`;
}

/** The bridge table's text: nothing forwarded between the instances' ports. */
export function renderBridgeTable(config: HostConfig): string {
  const t = config.firewall.table;
  const rules = config.firewall.allow_between_containers
    ? '\t\t# firewall.allow_between_containers: true\n'
    : `\t\tether saddr @${GUARD_SETS.macs} counter drop\n\t\tether daddr @${GUARD_SETS.macs} counter drop\n`;
  return `table bridge ${t}
flush table bridge ${t}
table bridge ${t} {
\tset ${GUARD_SETS.macs} {
\t\ttype ether_addr
\t}

\tchain forward {
\t\ttype filter hook forward priority -500; policy accept;
${rules}\t}
}
`;
}

/** The inet table's text. */
export function renderInetTable(config: HostConfig): string {
  const t = config.firewall.table;
  const br = JSON.stringify(config.bridge.name);
  const addr = bridgeAddress(config);
  const port = config.proxy.port;
  return `table inet ${t}
delete table inet ${t}
table inet ${t} {
\tchain input {
\t\ttype filter hook input priority filter - 10; policy accept;
\t\tiifname ${br} jump from_bridge
\t\tiifname != { ${br}, "lo" } ip6 daddr ${addr} tcp dport ${port} drop
\t}

\tchain from_bridge {
\t\tip6 daddr ${addr} tcp dport ${port} accept
\t\ticmpv6 type { ${ND_TYPES.join(', ')} } accept
\t\tcounter drop
\t}

\tchain forward {
\t\ttype filter hook forward priority filter - 10; policy accept;
\t\tiifname ${br} counter drop
\t\toifname ${br} counter drop
\t}
}
`;
}

/** The file: loading it replaces the inet table and redefines the other two (their set elements stay). */
export function renderNftables(config: HostConfig): string {
  return `#!/usr/sbin/nft -f
${MANAGED_HEADER('#')}${renderInetTable(config)}
${renderGuardTable(config)}
${renderBridgeTable(config)}`;
}
