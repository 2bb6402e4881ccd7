/**
 * LXD instances -> identity map entries: for every bridged NIC with a MAC, the instance name, the MAC, its EUI-64
 * link-local address, the bridge, and whether the address cannot be spoofed from another container: LXD's
 * `security.mac_filtering` and `security.ipv6_filtering` both true, or `security.mac_filtering` on a NIC of the
 * bridge the caller keeps under cuttle's bridge guard (`guardedBridge`: the netdev table drops every frame whose
 * (MAC, address) pair is not the NIC's own, render/nftables.ts). With per-instance sockets on, every instance that opts in
 * (`user.cuttle.socket: "true"` in its expanded config: set on the instance or on one of its profiles) gets one
 * more entry `{"name": NAME, "socket": true}`. Read with one request: GET /1.0/instances?recursion=1 carries
 * expanded config and devices, the local devices and the volatile MACs.
 */
import type { LxdClient } from '../lxd/client.js';

/** A NIC line of the map file the proxy reads (packages/proxy/src/identity/identity-map.ts). */
export interface NicRecord {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
  readonly bridge: string | null;
  readonly filtered: boolean;
}

/** A per-instance socket line: the proxy binds `DIR/NAME.sock` (its `identity.socket_dir`). */
export interface SocketRecord {
  readonly name: string;
  readonly socket: true;
}

/** One line of the map file. */
export type IdentityRecord = NicRecord | SocketRecord;

/** The instance config key that opts an instance into its own socket and proxy device. */
export const SOCKET_OPT_IN_KEY = 'user.cuttle.socket';

/** The fields of GET /1.0/instances?recursion=1 used here (and, for PUT, the writable ones). */
export interface LxdInstance {
  name: string;
  profiles?: readonly string[];
  expanded_config?: Readonly<Record<string, string>>;
  expanded_devices?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  devices?: Record<string, Record<string, string>>;
}

/** Whether the instance asked for its own socket. */
export function wantsSocket(inst: LxdInstance): boolean {
  return inst.expanded_config?.[SOCKET_OPT_IN_KEY] === 'true';
}

/** The EUI-64 link-local address of a MAC (RFC 4291 appendix A), compressed lowercase text. */
export function eui64LinkLocal(mac: string): string {
  const b = mac
    .toLowerCase()
    .split(':')
    .map((h) => Number.parseInt(h, 16));
  const groups = [
    0xfe80,
    0,
    0,
    0,
    (((b[0] as number) ^ 0x02) << 8) | (b[1] as number),
    ((b[2] as number) << 8) | 0xff,
    (0xfe << 8) | (b[3] as number),
    ((b[4] as number) << 8) | (b[5] as number),
  ];
  // Compress the longest zero run (RFC 5952); groups 1..3 are always zero here, more only if the MAC has zeros.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Every instance as LXD lists it (one request). */
export async function listInstances(client: LxdClient): Promise<LxdInstance[]> {
  return (await client.request<LxdInstance[]>('GET', '/1.0/instances?recursion=1')).metadata;
}

/**
 * The identity records of `instances` (default: asked from LXD), sorted by name then MAC, socket lines last per
 * name (a stable file for a stable host). `sockets`: list the instances that opted in to their own socket.
 */
export async function collectIdentities(
  client: LxdClient,
  options: { sockets?: boolean; instances?: LxdInstance[]; guardedBridge?: string } = {},
): Promise<IdentityRecord[]> {
  return identityRecords(options.instances ?? (await listInstances(client)), options);
}

/** The identity records of `instances` (pure; see collectIdentities). */
export function identityRecords(
  metadata: readonly LxdInstance[],
  options: { sockets?: boolean; guardedBridge?: string } = {},
): IdentityRecord[] {
  const out: IdentityRecord[] = [];
  for (const inst of metadata) {
    if (options.sockets === true && wantsSocket(inst)) out.push({ name: inst.name, socket: true });
    const config = inst.expanded_config ?? {};
    for (const [dev, d] of Object.entries(inst.expanded_devices ?? {})) {
      if (d.type !== 'nic') continue;
      const bridge = d.network ?? (d.nictype === 'bridged' ? d.parent : undefined);
      if (bridge === undefined) continue;
      const mac = (d.hwaddr ?? config[`volatile.${dev}.hwaddr`] ?? '').toLowerCase();
      // No MAC yet: LXD assigns it at first start; the next event brings it.
      if (!MAC.test(mac)) continue;
      out.push({
        name: inst.name,
        mac,
        address: eui64LinkLocal(mac),
        bridge,
        filtered:
          d['security.mac_filtering'] === 'true' &&
          (d['security.ipv6_filtering'] === 'true' || bridge === options.guardedBridge),
      });
    }
  }
  const key = (r: IdentityRecord): string => ('mac' in r ? r.mac : '~');
  return out.sort((a, b) => a.name.localeCompare(b.name) || key(a).localeCompare(key(b)));
}
