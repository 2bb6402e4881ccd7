/**
 * The nftables table (family inet) that closes the bridge: from the bridge only TCP to the proxy's address and port
 * and the ICMPv6 neighbour discovery needs get in; nothing is forwarded to or from it. LXD's dnsmasq still answers
 * DNS on `[fe80::1%bridge]:53` with `dns.mode: none` (a tunnel out through the host's resolver), and anything on
 * `[::]` (sshd) would be reachable too. The proxy's address and port arriving on any other interface are dropped:
 * other bridges may hold fe80::1 as well.
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

/** The table's file: re-loading it replaces the table atomically (create, delete, define in one transaction). */
export function renderNftables(config: HostConfig): string {
  const t = config.firewall.table;
  const br = JSON.stringify(config.bridge.name);
  const addr = bridgeAddress(config);
  const port = config.proxy.port;
  return `#!/usr/sbin/nft -f
${MANAGED_HEADER('#')}table inet ${t}
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
