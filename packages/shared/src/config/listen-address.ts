/**
 * `listen` entries: `IFACE:PORT` (that interface's link-local address with its zone), `[fe80::1%lxdbr0]:3128`,
 * `127.0.0.1:3128`, `[::1]:3128`, or `unix:/path.sock`. A wildcard (`0.0.0.0`, `[::]`, an empty host) is always
 * refused: the proxy must only be reachable where it is meant to be.
 */
import { CuttleError } from '../errors.js';
import { parseIpAddress } from '../net/address.js';
import { isValidZone } from '../net/ipv6.js';

/** A parsed `listen` entry. `text` is the entry as written. */
export type ListenAddress =
  | { readonly kind: 'interface'; readonly iface: string; readonly port: number; readonly text: string }
  | {
      readonly kind: 'address';
      readonly family: 4 | 6;
      /** The address without brackets or zone. */
      readonly host: string;
      readonly zone: string | undefined;
      readonly port: number;
      readonly text: string;
    }
  | { readonly kind: 'unix'; readonly path: string; readonly text: string };

/** Linux interface names: 1-15 characters, no `/`, `:`, `%` or whitespace (we also refuse other punctuation). */
const IFACE = /^[A-Za-z0-9_.@-]{1,15}$/;
const PORT = /^(?:0|[1-9][0-9]{0,4})$/;
const DOTTED = /^[0-9.]+$/;
/** Linux `sockaddr_un.sun_path` is 108 bytes with the terminating NUL. */
const MAX_UNIX_PATH_BYTES = 107;

/** Thrown by `parseListenAddress`; the message says what is wrong with the entry. */
export class ListenAddressError extends CuttleError {
  override readonly name = 'ListenAddressError';
  readonly code = 'CUTTLE_ERR_LISTEN_ADDRESS';
}

const fail = (text: string, why: string): never => {
  throw new ListenAddressError(`"${text}": ${why}`);
};

/**
 * Parses one `listen` entry. Port 0 is accepted (the kernel picks one; tests use it). Throws ListenAddressError
 * when the entry is malformed or a wildcard.
 */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    // Absolute: a daemon's working directory is not part of its config. A trailing `/` names a directory.
    if (!path.startsWith('/') || path.endsWith('/') || path.includes('\0'))
      fail(text, 'expected unix:/path/to.sock (an absolute path)');
    if (new TextEncoder().encode(path).length > MAX_UNIX_PATH_BYTES)
      fail(text, `a unix socket path is at most ${MAX_UNIX_PATH_BYTES} bytes (sockaddr_un)`);
    return { kind: 'unix', path, text };
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) fail(text, 'expected HOST:PORT, [IPV6]:PORT, IFACE:PORT or unix:PATH');
  const portText = text.slice(colon + 1);
  if (!PORT.test(portText) || Number(portText) > 65535)
    fail(text, 'port must be 0-65535 without leading zeros');
  const port = Number(portText);
  const host = text.slice(0, colon);
  if (host === '' || host === '[]' || host === '*')
    fail(text, 'a wildcard (every address) is refused: name an address or an interface');
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) fail(text, 'unclosed bracket');
    const inner = host.slice(1, -1);
    const pct = inner.indexOf('%');
    const zone = pct === -1 ? undefined : inner.slice(pct + 1);
    if (zone !== undefined && !isValidZone(zone)) fail(text, `invalid zone "${zone}"`);
    const addr = parseIpAddress(pct === -1 ? inner : inner.slice(0, pct));
    if (addr === null || addr.kind !== 'ipv6') return fail(text, 'not an IPv6 address');
    const p = addr.parts;
    const mappedZero = p.slice(0, 5).every((x) => x === 0) && p[5] === 0xffff && p[6] === 0 && p[7] === 0;
    if (p.every((x) => x === 0) || mappedZero)
      fail(text, 'a wildcard (every address) is refused: name an address or an interface');
    return { kind: 'address', family: 6, host: pct === -1 ? inner : inner.slice(0, pct), zone, port, text };
  }
  if (host.includes(':')) fail(text, 'an IPv6 address needs brackets: [ADDR]:PORT');
  if (DOTTED.test(host)) {
    const addr = parseIpAddress(host);
    if (addr === null || addr.kind !== 'ipv4') return fail(text, 'not a dotted-quad IPv4 address');
    if (addr.value === 0)
      fail(text, 'a wildcard (every address) is refused: name an address or an interface');
    return { kind: 'address', family: 4, host, zone: undefined, port, text };
  }
  if (!IFACE.test(host)) fail(text, `"${host}" is not an IP address or interface name`);
  return { kind: 'interface', iface: host, port, text };
}

/** For the schema's refinement: null if `text` is a valid listen entry, else the reason. */
export function validateListenAddress(text: string): string | null {
  try {
    parseListenAddress(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
