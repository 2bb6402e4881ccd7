/**
 * The check for CONNECT tunnels to a `connect.http_ports` port (plain HTTP inside the tunnel, as Node's fetch sends
 * for `http://` URLs): the first request must be HTTP/1.x, carry exactly one Host header, and both the Host header
 * and an absolute-form target (if used) must name the CONNECT host and port. Otherwise the tunnel is closed with
 * `host_mismatch` and no byte reaches the origin.
 *
 * Only the first request is checked. A client may send a second request naming another host on the same
 * connection; it still reaches the same checked address and port, exactly as a Host-header mismatch on a direct
 * connection to that IP would. docs/policy.md states this.
 */
import type { Duplex } from 'node:stream';
import { normalizeHost, parseProxyTarget } from '@cuttle/shared';
import { readHttpHead } from './read-http-head.js';

export interface CheckHttpHostOptions {
  readonly head: Buffer;
  /** The decided (normalised) CONNECT host and its port. */
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** The outcome. `buffered` holds every client byte read; on `pass` they go upstream first. */
export interface HttpHostCheck {
  readonly kind: 'pass' | 'mismatch' | 'not_http' | 'too_large' | 'timeout' | 'closed';
  /** The Host header as sent (printable ASCII, at most 255 chars) for the log, or null. */
  readonly requestHost: string | null;
  readonly buffered: Buffer;
}

const REQUEST_LINE = /^[A-Z]+ (\S+) HTTP\/1\.[01]$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/** `host[:port]` (as in a Host header or URL authority) names `host`:`port` after normalisation. */
function namesDestination(authorityUrl: string, host: string, port: number): boolean {
  const target = parseProxyTarget('GET', authorityUrl);
  if (!target.ok || target.port !== port) return false;
  const normalized = normalizeHost(target.host);
  return normalized.kind !== 'invalid' && normalized.host === host;
}

/** Decides on a complete request head (without the final blank line). */
export function checkRequestHead(
  head: string,
  host: string,
  port: number,
): { readonly ok: boolean; readonly requestHost: string | null; readonly http: boolean } {
  const lines = head.split('\r\n');
  const line = REQUEST_LINE.exec(lines[0] ?? '');
  if (line === null) return { ok: false, requestHost: null, http: false };
  const hosts: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const header = HEADER_LINE.exec(lines[i] as string);
    // obs-fold, bare CR/LF or a line without a name: not a request we can vouch for.
    if (header === null) return { ok: false, requestHost: null, http: false };
    if ((header[1] as string).toLowerCase() === 'host') hosts.push(header[2] as string);
  }
  const requestHost = hosts.length === 1 ? loggable(hosts[0] as string) : null;
  if (hosts.length !== 1) return { ok: false, requestHost, http: true };
  const value = hosts[0] as string;
  // The Host value must be a bare authority: `http://` + value + `/` parses to exactly it or it is refused.
  if (value.length === 0 || /[/?#@\\]/.test(value)) return { ok: false, requestHost, http: true };
  if (!namesDestination(`http://${value}/`, host, port)) return { ok: false, requestHost, http: true };
  const target = line[1] as string;
  if (target.charCodeAt(0) !== 0x2f && !namesDestination(target, host, port))
    return { ok: false, requestHost, http: true };
  return { ok: true, requestHost, http: true };
}

function loggable(value: string): string {
  return value.slice(0, 255).replace(/[^\x21-\x7e]/g, '?');
}

/**
 * Reads the first request head from `socket` (nothing is forwarded), checks it against the CONNECT host and calls
 * `done` with the outcome.
 */
export function checkHttpHost(
  socket: Duplex,
  options: CheckHttpHostOptions,
  done: (check: HttpHostCheck) => void,
): void {
  const read = { head: options.head, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes };
  readHttpHead(socket, read, (got) => {
    if (got.kind !== 'head') return done({ kind: got.kind, requestHost: null, buffered: got.buffered });
    const verdict = checkRequestHead(got.head, options.host, options.port);
    const kind = verdict.ok ? 'pass' : verdict.http ? 'mismatch' : 'not_http';
    done({ kind, requestHost: verdict.requestHost, buffered: got.buffered });
  });
}
