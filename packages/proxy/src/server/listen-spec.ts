/**
 * `listen` entries: `IFACE:PORT` (the interface's link-local address with its zone), `[fe80::1%lxdbr0]:3128`,
 * `127.0.0.1:3128`, `[::1]:3128`. Wildcards (`0.0.0.0`, `::`, an empty host) are refused: the proxy must only be
 * reachable where it is meant to be.
 */
import { isIP } from 'node:net';

export type ListenSpec =
  | { readonly kind: 'interface'; readonly iface: string; readonly port: number; readonly text: string }
  | {
      readonly kind: 'address';
      readonly host: string;
      readonly zone: string | undefined;
      readonly port: number;
      readonly text: string;
    };

const IFACE = /^[A-Za-z0-9_.@-]{1,15}$/;
const PORT = /^(?:0|[1-9][0-9]{0,4})$/;
const WILDCARDS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0']);

/** Parses one `listen` entry; throws an Error naming the entry when it is malformed or a wildcard. */
export function parseListenSpec(text: string): ListenSpec {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new Error(`listen "${text}": expected HOST:PORT or IFACE:PORT`);
  const portText = text.slice(colon + 1);
  if (!PORT.test(portText) || Number(portText) > 65535) throw new Error(`listen "${text}": bad port`);
  const port = Number(portText);
  let host = text.slice(0, colon);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) throw new Error(`listen "${text}": unclosed bracket`);
    host = host.slice(1, -1);
    let zone: string | undefined;
    const pct = host.indexOf('%');
    if (pct !== -1) {
      zone = host.slice(pct + 1).replace(/^25(?=.)/, '');
      host = host.slice(0, pct);
      if (!IFACE.test(zone)) throw new Error(`listen "${text}": bad zone`);
    }
    if (isIP(host) !== 6) throw new Error(`listen "${text}": not an IPv6 address`);
    if (WILDCARDS.has(host)) throw new Error(`listen "${text}": wildcard addresses are refused`);
    return { kind: 'address', host, zone, port, text };
  }
  if (isIP(host) === 4) {
    if (WILDCARDS.has(host)) throw new Error(`listen "${text}": wildcard addresses are refused`);
    return { kind: 'address', host, zone: undefined, port, text };
  }
  if (host.includes(':')) throw new Error(`listen "${text}": IPv6 addresses need brackets`);
  if (!IFACE.test(host)) throw new Error(`listen "${text}": not an address or interface name`);
  return { kind: 'interface', iface: host, port, text };
}

/** `host:port` text with brackets and zone for IPv6. */
export function formatEndpoint(host: string, zone: string | undefined, port: number): string {
  if (host.includes(':')) return `[${host}${zone === undefined ? '' : `%${zone}`}]:${port}`;
  return `${host}:${port}`;
}
