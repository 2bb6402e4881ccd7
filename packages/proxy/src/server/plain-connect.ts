/**
 * A CONNECT head that needs no HTTP parser: the common case of a tunnel's first segment, recognised by a strict
 * subset of what llhttp accepts, so that node:http's per-request machinery (parser, IncomingMessage, its socket
 * listeners) is skipped for it. Anything outside the subset, or incomplete, is left to node:http as before: this
 * only ever says "this is exactly such a CONNECT" or "ask llhttp". Proven against llhttp by the differential test
 * in test/plain-connect.test.ts (every head accepted here gets the same target, version and trailing bytes from
 * node:http's 'connect' event).
 *
 * Measured (bench/README.md, "Results: 2026-12-06"): raw CONNECT set-ups, 16 loops, the proxy pinned, 8
 * alternating rounds of 3 s against the build before, CPU per set-up Node 24 131 -> 128 µs, Node 20 167 -> 156
 * (Squid 126); set-ups/s +2% and +8%.
 *
 *   CONNECT SP target SP HTTP/1.0|HTTP/1.1 CRLF   target: ALPHA DIGIT . - _ : [ ] % only
 *   *( field-name ":" value CRLF )                 field-name: tchar; value: SP HTAB VCHAR (no obs-text)
 *   CRLF                                           no Content-Length, no Transfer-Encoding
 *   all of it in one buffer, within the head's byte and count limits
 */

/** What a plain CONNECT head says. */
export interface PlainConnect {
  /** The request target as sent (authority-form, not yet checked: parseProxyTarget does that). */
  readonly target: string;
  /** Where the head ends (after its empty line): the bytes from here on are the client's first tunnel bytes. */
  readonly end: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const PREFIX = Buffer.from('CONNECT ', 'latin1');
const VERSION = Buffer.from(' HTTP/1.', 'latin1');

function table(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Bytes of a host:port target: names, IPv4, bracketed IPv6 with a zone. */
const TARGET = table(`${ALNUM}.-_:[]%`);
/** RFC 9110 5.6.2 tchar. */
const TCHAR = table(`${ALNUM}!#$%&'*+-.^_\`|~`);

/** True when the field name at [start, end) is `name` (lower case), ASCII case-insensitively. */
function nameIs(buf: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if (((buf[start + i] as number) | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads a plain CONNECT head from the start of `buf`, or returns null: not a CONNECT, incomplete, longer than
 * `maxBytes`, more than `maxCount` header fields, or anything llhttp might read differently. Null is never a
 * refusal, only "let node:http parse it".
 */
export function parsePlainConnect(buf: Buffer, maxBytes: number, maxCount: number): PlainConnect | null {
  const limit = Math.min(buf.length, maxBytes);
  if (limit < PREFIX.length || buf.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return null;
  let i = PREFIX.length;
  const targetStart = i;
  while (i < limit && TARGET[buf[i] as number] === 1) i++;
  const targetEnd = i;
  if (targetEnd === targetStart) return null;
  // " HTTP/1." then 0 or 1 then CRLF.
  if (
    i + VERSION.length + 3 > limit ||
    buf.compare(VERSION, 0, VERSION.length, i, i + VERSION.length) !== 0
  ) {
    return null;
  }
  i += VERSION.length;
  const minor = buf[i];
  if ((minor !== 0x30 && minor !== 0x31) || buf[i + 1] !== CR || buf[i + 2] !== LF) return null;
  i += 3;
  let count = 0;
  for (;;) {
    if (i + 1 >= limit) return null;
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return null;
      return { target: buf.toString('latin1', targetStart, targetEnd), end: i + 2 };
    }
    const nameStart = i;
    while (i < limit && TCHAR[buf[i] as number] === 1) i++;
    if (i === nameStart || i >= limit || buf[i] !== COLON) return null;
    if (nameIs(buf, nameStart, i, 'content-length') || nameIs(buf, nameStart, i, 'transfer-encoding')) {
      return null;
    }
    if (++count > maxCount) return null;
    i++;
    for (;;) {
      if (i >= limit) return null;
      const c = buf[i] as number;
      if (c === CR) break;
      if (c !== SP && c !== HTAB && (c < 0x21 || c > 0x7e)) return null;
      i++;
    }
    if (i + 1 >= limit || buf[i + 1] !== LF) return null;
    i += 2;
  }
}
