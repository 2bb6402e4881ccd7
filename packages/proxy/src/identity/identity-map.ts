/**
 * The container identity map: which LXD instance a client's link-local address belongs to. Written by
 * `cuttle-provision identity --watch` (the proxy never touches the LXD socket), read here:
 *
 *   {"version": 1, "instances": [
 *     {"name": "blog", "mac": "00:16:3e:12:34:56", "address": "fe80::216:3eff:fe12:3456",
 *      "bridge": "lxdbr0", "filtered": true}]}
 *
 * `address` must be the EUI-64 link-local address of `mac` (checked: a map that disagrees with itself is refused).
 * `filtered` says LXD's `security.mac_filtering` and `security.ipv6_filtering` are on for the NIC, so the
 * address cannot be spoofed from another container; only then may identity grant anything (`containers:`).
 * Without it the name is advisory: logged and labelled, never used to allow.
 *
 * Socket mode (`identity.socket_dir`): an entry with `"socket": true` asks the proxy for the instance's own socket
 * `DIR/NAME.sock`; such an instance usually has no NIC, and its entry is then just `{"name": "blog", "socket": true}`.
 */
import { type ClientIdentity, formatIpAddress, parseIpAddress } from '@cuttle/shared';
import type { ClientInfo } from '../core/client.js';

/** One instance as the map file lists it. */
export interface IdentityEntry {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
  readonly bridge: string | null;
  readonly filtered: boolean;
}

/** A loaded map: client address (with zone) -> instance. */
export interface IdentityMap {
  lookup(client: string): IdentityEntry | null;
  readonly entries: readonly IdentityEntry[];
  /** Instance names that get their own unix socket (`"socket": true`), sorted, each once. */
  readonly sockets: readonly string[];
}

/** The empty map (no file, or identity off). */
export const EMPTY_IDENTITY: IdentityMap = { lookup: () => null, entries: [], sockets: [] };

/**
 * Which container a client is, for the policy and the access record. A unix socket's name is the identity
 * (`unix:blog` is `blog`), authoritative: the socket is host-side configuration. An address is looked up in the
 * map; it is authoritative only when the map says the NIC is filtered (else it could be spoofed).
 */
export function identify(map: IdentityMap, client: ClientInfo): ClientIdentity | null {
  if (client.unix) return { name: client.label.slice('unix:'.length), authoritative: true };
  const entry = map.lookup(client.label);
  return entry === null ? null : { name: entry.name, authoritative: entry.filtered };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** The EUI-64 link-local address of a MAC (RFC 4291 appendix A): flip the U/L bit, insert ff:fe; canonical text. */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => Number.parseInt(h, 16));
  const g = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  const text = `fe80::${g((b[0] as number) ^ 0x02, b[1] as number)}:${g(b[2] as number, 0xff)}:${g(0xfe, b[3] as number)}:${g(b[4] as number, b[5] as number)}`;
  return canonical(text) ?? text;
}

/** Canonical address text, or null. */
function canonical(text: string): string | null {
  const a = parseIpAddress(text);
  return a === null || a.kind !== 'ipv6' ? null : formatIpAddress(a);
}

/** Parses a map file's text; throws an Error naming `file` and the entry at fault. */
export function parseIdentityMap(text: string, file: string): IdentityMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`);
  }
  const d = doc as { version?: unknown; instances?: unknown };
  if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.instances))
    throw new Error(`${file}: expected {"version": 1, "instances": [...]}`);
  const entries: IdentityEntry[] = [];
  const byAddress = new Map<string, IdentityEntry[]>();
  const sockets = new Set<string>();
  d.instances.forEach((raw: unknown, i: number) => {
    const at = `${file}: instances[${i}]`;
    const e = raw as Record<string, unknown>;
    if (e === null || typeof e !== 'object') throw new Error(`${at}: expected an object`);
    const { name, mac, address, bridge, filtered, socket } = e;
    if (typeof name !== 'string' || !NAME.test(name)) throw new Error(`${at}.name: not an LXD instance name`);
    if (socket !== undefined && typeof socket !== 'boolean')
      throw new Error(`${at}.socket: expected true or false`);
    if (socket === true) sockets.add(name);
    // A socket-only entry: the instance has no NIC to identify it by.
    if (socket === true && mac === undefined && address === undefined) return;
    if (typeof mac !== 'string' || !MAC.test(mac.toLowerCase()))
      throw new Error(`${at}.mac: not a MAC address`);
    const addr = typeof address === 'string' ? canonical(address) : null;
    if (addr === null) throw new Error(`${at}.address: not an IPv6 address`);
    if (addr !== canonical(eui64LinkLocal(mac.toLowerCase())))
      throw new Error(`${at}.address: ${address} is not the EUI-64 address of ${mac}`);
    if (bridge !== undefined && bridge !== null && typeof bridge !== 'string')
      throw new Error(`${at}.bridge: expected a string`);
    if (typeof filtered !== 'boolean') throw new Error(`${at}.filtered: expected true or false`);
    const entry: IdentityEntry = {
      name,
      mac: mac.toLowerCase(),
      address: addr,
      bridge: typeof bridge === 'string' ? bridge : null,
      filtered,
    };
    entries.push(entry);
    const list = byAddress.get(addr) ?? [];
    list.push(entry);
    byAddress.set(addr, list);
  });
  return {
    entries,
    sockets: [...sockets].sort(),
    lookup(client) {
      const pct = client.indexOf('%');
      const addr = canonical(pct === -1 ? client : client.slice(0, pct));
      if (addr === null) return null;
      const zone = pct === -1 ? null : client.slice(pct + 1);
      const list = byAddress.get(addr);
      if (list === undefined) return null;
      // On a bridge-qualified entry the zone must be that bridge: the same fe80 address on another link is
      // another machine.
      return list.find((e) => e.bridge === null || e.bridge === zone) ?? null;
    },
  };
}
