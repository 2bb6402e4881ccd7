/**
 * A TLS ClientHello reader that only looks for the SNI host name (RFC 8446 §4.1.2, RFC 6066 §3). Pure: it is
 * handed the bytes a client sent so far and says whether it needs more, whether they are not a TLS handshake, or
 * which SNI (if any) the ClientHello carries. The ClientHello may be split across TCP segments and across TLS
 * records (RFC 8446 §5.1 lets a handshake message span records), so records are reassembled first.
 *
 *   bytes -> TLS records (type 22) -> handshake fragment stream -> ClientHello (type 1) -> extensions -> SNI
 */

/** What the client's first bytes say. `need_more`: feed more bytes; the caller bounds how many and for how long. */
export type ClientHelloResult =
  | { readonly kind: 'need_more' }
  | { readonly kind: 'not_tls' }
  | { readonly kind: 'malformed'; readonly why: string }
  | { readonly kind: 'hello'; readonly sni: string | null };

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
/** Largest TLS plaintext fragment (RFC 8446 §5.1). */
const MAX_FRAGMENT = 16_384;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;

const NEED_MORE: ClientHelloResult = { kind: 'need_more' };
const NOT_TLS: ClientHelloResult = { kind: 'not_tls' };
const malformed = (why: string): ClientHelloResult => ({ kind: 'malformed', why });

/**
 * Reads the ClientHello from the start of a client's byte stream. `data` is everything received so far; the result
 * is final unless it is `need_more`. The SNI is returned as sent (ASCII, not normalised); see `normalizeSni`.
 */
export function parseClientHello(data: Buffer): ClientHelloResult {
  // Reassemble handshake bytes from consecutive handshake records until the whole ClientHello is there.
  let offset = 0;
  let handshake: Buffer | null = null;
  const fragments: Buffer[] = [];
  let gathered = 0;
  let needed = -1; // handshake bytes needed (4-byte header + body), once the header is known
  while (true) {
    if (data.length - offset < RECORD_HEADER) {
      if (offset === 0 && data.length > 0 && data[0] !== CONTENT_HANDSHAKE) return NOT_TLS;
      if (offset === 0 && data.length > 1 && data[1] !== 3) return NOT_TLS;
      return NEED_MORE;
    }
    const type = data[offset] as number;
    const major = data[offset + 1] as number;
    const length = data.readUInt16BE(offset + 3);
    if (type !== CONTENT_HANDSHAKE || major !== 3)
      return offset === 0 ? NOT_TLS : malformed('non-handshake record');
    if (length === 0) return malformed('empty handshake record');
    if (length > MAX_FRAGMENT) return malformed('record longer than 16384 bytes');
    if (data.length - offset - RECORD_HEADER < length) return NEED_MORE;
    const fragment = data.subarray(offset + RECORD_HEADER, offset + RECORD_HEADER + length);
    offset += RECORD_HEADER + length;
    fragments.push(fragment);
    gathered += fragment.length;
    if (needed === -1 && gathered >= 4) {
      const head = fragments.length === 1 ? fragment : Buffer.concat(fragments, gathered);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO)
        return malformed('first handshake message is not a ClientHello');
      needed = 4 + head.readUIntBE(1, 3);
    }
    if (needed !== -1 && gathered >= needed) {
      handshake = fragments.length === 1 ? fragment : Buffer.concat(fragments, gathered);
      break;
    }
  }
  return readHelloBody(handshake.subarray(4, needed));
}

/** Parses a ClientHello body (after the 4-byte handshake header) down to the server_name extension. */
function readHelloBody(body: Buffer): ClientHelloResult {
  let p = 2 + 32; // legacy_version, random
  if (body.length < p + 1) return malformed('ClientHello too short');
  const sessionIdLength = body[p] as number;
  if (sessionIdLength > 32) return malformed('session id longer than 32 bytes');
  p += 1 + sessionIdLength;
  if (body.length < p + 2) return malformed('ClientHello truncated at cipher suites');
  const suitesLength = body.readUInt16BE(p);
  if (suitesLength < 2 || suitesLength % 2 !== 0) return malformed('bad cipher suites length');
  p += 2 + suitesLength;
  if (body.length < p + 1) return malformed('ClientHello truncated at compression methods');
  const compressionLength = body[p] as number;
  if (compressionLength < 1) return malformed('no compression method');
  p += 1 + compressionLength;
  if (body.length < p) return malformed('ClientHello truncated at compression methods');
  if (body.length === p) return { kind: 'hello', sni: null }; // no extensions at all (TLS 1.0-1.2 allow that)
  if (body.length < p + 2) return malformed('ClientHello truncated at extensions');
  const extensionsEnd = p + 2 + body.readUInt16BE(p);
  if (extensionsEnd !== body.length) return malformed('extensions length does not match the ClientHello');
  p += 2;
  let sni: string | null = null;
  let seen = false;
  while (p < extensionsEnd) {
    if (extensionsEnd - p < 4) return malformed('truncated extension header');
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    p += 4;
    if (extensionsEnd - p < length) return malformed('truncated extension');
    if (type === EXT_SERVER_NAME) {
      // Two server_name extensions would let the proxy and the origin read different names (RFC 8446 §4.2).
      if (seen) return malformed('duplicate server_name extension');
      seen = true;
      const name = readServerName(body.subarray(p, p + length));
      if (typeof name !== 'string' && name !== null) return name;
      sni = name;
    }
    p += length;
  }
  return { kind: 'hello', sni };
}

/** The host_name from a server_name extension body; null for an empty list (a server's echo, not a client's). */
function readServerName(ext: Buffer): string | null | ClientHelloResult {
  if (ext.length === 0) return null;
  if (ext.length < 2 || ext.readUInt16BE(0) !== ext.length - 2)
    return malformed('bad server_name list length');
  let p = 2;
  let host: string | null = null;
  while (p < ext.length) {
    if (ext.length - p < 3) return malformed('truncated server_name entry');
    const nameType = ext[p] as number;
    const length = ext.readUInt16BE(p + 1);
    p += 3;
    if (ext.length - p < length) return malformed('truncated server_name entry');
    if (nameType === NAME_TYPE_HOST) {
      // RFC 6066: the list MUST NOT contain more than one name of the same name_type.
      if (host !== null) return malformed('more than one host_name in server_name');
      if (length === 0) return malformed('empty host_name');
      host = ext.toString('latin1', p, p + length);
    }
    p += length;
  }
  return host;
}

/**
 * Normalises an SNI for comparison with the CONNECT host: ASCII lowercase and one trailing dot removed. Returns
 * null when the name holds a byte a DNS host name cannot (such a name can never equal a normalised host).
 */
export function normalizeSni(sni: string): string | null {
  let name = sni.endsWith('.') ? sni.slice(0, -1) : sni;
  if (name.length === 0 || !/^[A-Za-z0-9._-]+$/.test(name)) return null;
  name = name.toLowerCase();
  return name;
}
