/**
 * Finds the link-local address to bind for `IFACE:PORT`: fe80::1 when the interface has it, else its first fe80
 * address, plus the interface index (LXD deletes and recreates its bridge on restart: same name, new index).
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

/** Where to bind, or why not yet. `key` changes whenever a rebind is needed. */
export type InterfaceAddress =
  | { readonly ok: true; readonly address: string; readonly zone: string; readonly key: string }
  | { readonly ok: false; readonly why: string };

const PREFERRED = 'fe80::1';

/** Looks the interface up now (one getifaddrs and one sysfs read). */
export async function findInterfaceAddress(iface: string): Promise<InterfaceAddress> {
  let index: string;
  try {
    index = (await readFile(`/sys/class/net/${iface}/ifindex`, 'utf8')).trim();
  } catch {
    return { ok: false, why: `interface ${iface} does not exist` };
  }
  const list = networkInterfaces()[iface] ?? [];
  const linkLocal = list.filter((a) => a.family === 'IPv6' && /^fe[89ab][0-9a-f]:/i.test(a.address));
  const chosen = linkLocal.find((a) => a.address === PREFERRED) ?? linkLocal[0];
  if (chosen === undefined) return { ok: false, why: `interface ${iface} has no link-local IPv6 address` };
  return { ok: true, address: chosen.address, zone: iface, key: `${chosen.address}%${iface}#${index}` };
}
