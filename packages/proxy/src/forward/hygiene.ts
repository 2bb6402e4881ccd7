/**
 * Header hygiene for plain HTTP, both directions. Framing is checked on `rawHeaders` (what llhttp saw), because
 * JavaScript's view can hide headers: on Node 20 the ones past the header-count limit never reach `headers` or
 * `rawHeaders`, yet llhttp still frames the body with them. So reaching the limit is itself a rejection.
 * RFC 9112 §6.3 (message body length), RFC 9110 §7.6.1 (Connection), §7.2 (Host).
 */

/** Hop-by-hop headers never forwarded (lowercase). Headers named in `Connection` are removed as well. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);
const DIGITS = /^[0-9]+$/;
/** Any CR, LF or NUL in a value: llhttp rejects these already; checked again because framing is at stake. */
const BAD_VALUE = /[\r\n\0]/;

/** Why a head is refused, with the error code to answer. */
export type FramingProblem = { code: 'headers_too_large' | 'bad_request' | 'bad_response'; detail: string };

/**
 * The lowercase names of a flat `[name, value, ...]` list (index i for header i), computed once per head and handed
 * to the checks below, which would otherwise lowercase every name again (3-4 times per header and direction).
 */
export function lowerNames(rawHeaders: readonly string[]): string[] {
  const out = new Array<string>(rawHeaders.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (rawHeaders[2 * i] as string).toLowerCase();
  return out;
}

/**
 * Checks a parsed head's framing. `limit` is `limits.max_header_count`; `code` is what to report on ambiguity
 * (`bad_request` for clients, `bad_response` for origins). Returns null when the head is unambiguous. `lower`: the
 * head's `lowerNames`, when the caller has them.
 */
export function checkFraming(
  rawHeaders: readonly string[],
  limit: number,
  code: 'bad_request' | 'bad_response',
  lower?: readonly string[],
): FramingProblem | null {
  if (rawHeaders.length / 2 >= limit) {
    return {
      code: code === 'bad_request' ? 'headers_too_large' : 'bad_response',
      detail: 'header count limit',
    };
  }
  let contentLength = 0;
  let transferEncoding = 0;
  let host = 0;
  const names = lower ?? lowerNames(rawHeaders);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = names[i >> 1] as string;
    const value = rawHeaders[i + 1] as string;
    if (BAD_VALUE.test(value)) return { code, detail: 'control character in header value' };
    if (name === 'content-length') {
      contentLength++;
      if (!DIGITS.test(value)) return { code, detail: 'malformed Content-Length' };
    } else if (name === 'transfer-encoding') {
      transferEncoding++;
      // Only `chunked` alone: other codings would be lost when node re-frames the body (RFC 9112 §6.1).
      if (value.trim().toLowerCase() !== 'chunked')
        return { code, detail: 'transfer coding other than chunked' };
    } else if (name === 'host') host++;
  }
  if (contentLength > 1) return { code, detail: 'duplicate Content-Length' };
  if (contentLength > 0 && transferEncoding > 0)
    return { code, detail: 'Content-Length with Transfer-Encoding' };
  if (code === 'bad_request' && host > 1) return { code, detail: 'duplicate Host' };
  return null;
}

/**
 * The lowercase header names listed in every `Connection` header (`Connection: close, X-Secret`) that are not
 * hop-by-hop already (those go anyway), or null. The usual value, one token (`keep-alive`, `close`), is not split.
 */
function connectionNamed(rawHeaders: readonly string[], lower: readonly string[]): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (lower[i >> 1] !== 'connection') continue;
    const value = rawHeaders[i + 1] as string;
    if (!value.includes(',')) {
      const t = value.trim().toLowerCase();
      if (t === '' || HOP_BY_HOP.has(t)) continue;
      named ??= new Set();
      named.add(t);
      continue;
    }
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase();
      if (t === '' || HOP_BY_HOP.has(t)) continue;
      named ??= new Set();
      named.add(t);
    }
  }
  return named;
}

/**
 * Copies end-to-end headers from `rawHeaders` into a flat `[name, value, ...]` list, in order and with
 * duplicates kept, dropping hop-by-hop headers, every Connection-named header, Host, and `alsoDropped` (lowercase).
 */
export function endToEndHeaders(
  rawHeaders: readonly string[],
  alsoDropped: ReadonlySet<string> | null = null,
  lower: readonly string[] = lowerNames(rawHeaders),
): string[] {
  const named = connectionNamed(rawHeaders, lower);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const l = lower[i >> 1] as string;
    if (HOP_BY_HOP.has(l) || named?.has(l) || alsoDropped?.has(l)) continue;
    out.push(rawHeaders[i] as string, rawHeaders[i + 1] as string);
  }
  return out;
}

/** An origin's response head as it goes to the client, or why it does not. */
export type ResponseHead =
  | { readonly ok: true; readonly headers: string[]; readonly contentType: string | null }
  | { readonly ok: false; readonly problem: FramingProblem };

/**
 * A header Buffer as a latin1 string through Buffer's own `latin1Slice` (the native method `toString('latin1')`
 * ends in, without its argument handling: 60-75 -> 55-60 ns per field on Node 20, 16 fields per nginx answer).
 */
type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as Partial<Latin1Sliceable>).latin1Slice === 'function';

function latin1(b: Buffer): string {
  return HAS_LATIN1_SLICE ? (b as Latin1Sliceable).latin1Slice(0, b.length) : b.toString('latin1');
}

/**
 * Decodes a head's fields with one native call when they lie in order in one buffer (undici hands views into the
 * socket's read): the whole span once, each field a substring. On an nginx head of 8 fields, with the lowercasing
 * that follows, 925 -> 700 ns on Node 24; on Node 20 it is slower (1,100 -> 1,250 ns), so only from Node 22 on.
 */
const WHOLE_SPAN = HAS_LATIN1_SLICE && Number(process.versions.node.split('.')[0]) >= 22;

function fieldTexts(raw: readonly Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  const first = raw[0];
  if (WHOLE_SPAN && first !== undefined) {
    const ab = first.buffer;
    const base = first.byteOffset;
    let end = base;
    let bytes = 0;
    for (let i = 0; i < raw.length; i++) {
      const b = raw[i] as Buffer;
      if (b.buffer !== ab || b.byteOffset < end) {
        end = -1;
        break;
      }
      end = b.byteOffset + b.length;
      bytes += b.length;
    }
    // Fields far apart (one copied elsewhere by undici): each on its own rather than a large span.
    if (end !== -1 && end - base <= 4 * bytes + 1024) {
      const text = (Buffer.from(ab, base, end - base) as Latin1Sliceable).latin1Slice(0, end - base);
      for (let i = 0; i < raw.length; i++) {
        const b = raw[i] as Buffer;
        const o = b.byteOffset - base;
        out[i] = text.slice(o, o + b.length);
      }
      return out;
    }
  }
  for (let i = 0; i < raw.length; i++) out[i] = latin1(raw[i] as Buffer);
  return out;
}

/**
 * `checkFraming(.., 'bad_response')`, the first Content-Type and `endToEndHeaders` of an origin's raw head
 * (undici's `[name, value, ...]` Buffers) in one pass: what the three compute, with one lowercasing per name and no
 * intermediate lists (the names named in a `Connection` header, rare, are taken out after the pass).
 */
export function checkResponseHead(raw: readonly Buffer[], limit: number): ResponseHead {
  if (raw.length / 2 >= limit)
    return { ok: false, problem: { code: 'bad_response', detail: 'header count limit' } };
  const headers: string[] = [];
  let contentType: string | null = null;
  let contentLength = 0;
  let transferEncoding = 0;
  let connection: string[] | null = null;
  const texts = fieldTexts(raw);
  for (let i = 0; i < texts.length; i += 2) {
    const name = texts[i] as string;
    const value = texts[i + 1] as string;
    const l = name.toLowerCase();
    if (BAD_VALUE.test(value)) return bad('control character in header value');
    if (l === 'content-length') {
      contentLength++;
      if (!DIGITS.test(value)) return bad('malformed Content-Length');
    } else if (l === 'transfer-encoding') {
      transferEncoding++;
      if (value.trim().toLowerCase() !== 'chunked') return bad('transfer coding other than chunked');
    } else if (l === 'content-type') contentType ??= value;
    else if (l === 'connection') {
      connection ??= [];
      connection.push(name, value);
    }
    if (!HOP_BY_HOP.has(l)) headers.push(name, value);
  }
  if (contentLength > 1) return bad('duplicate Content-Length');
  if (contentLength > 0 && transferEncoding > 0) return bad('Content-Length with Transfer-Encoding');
  const named = connection === null ? null : connectionNamed(connection, lowerNames(connection));
  if (named === null) return { ok: true, headers, contentType };
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (named.has((headers[i] as string).toLowerCase())) continue;
    kept.push(headers[i] as string, headers[i + 1] as string);
  }
  return { ok: true, headers: kept, contentType };
}

function bad(detail: string): ResponseHead {
  return { ok: false, problem: { code: 'bad_response', detail } };
}

/** The Host header value for a target: brackets for IPv6, the port unless it is 80. */
export function hostHeader(host: string, hostKind: string, port: number, defaultPort = 80): string {
  const h = hostKind === 'ipv6' ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}

/** True when a request head announces a body (RFC 9112 §6.3: Transfer-Encoding, or Content-Length > 0). */
export function hasRequestBody(headers: {
  'content-length'?: string;
  'transfer-encoding'?: string;
}): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const cl = headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/**
 * Lowers every valid `Max-Forwards` in a flat `[name, value, ...]` list by one (RFC 9110 7.6.2, OPTIONS and TRACE
 * only; a request whose value is 0 is answered by the proxy instead). A value that is not a number is left as is.
 */
export function decrementMaxForwards(headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'max-forwards') continue;
    const value = (headers[i + 1] as string).trim();
    if (DIGITS.test(value) && value.length < 16) headers[i + 1] = String(Math.max(0, Number(value) - 1));
  }
}

/** True for a `Max-Forwards` value of zero (`0`, `00`): this recipient answers, it does not forward. */
export function isLastHop(maxForwards: string | undefined): boolean {
  if (maxForwards === undefined) return false;
  const value = maxForwards.trim();
  return DIGITS.test(value) && Number(value) === 0;
}
