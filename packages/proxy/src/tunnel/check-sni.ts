/**
 * The SNI check of `connect.require_sni`: the tunnel's first client bytes must be a TLS ClientHello whose SNI is
 * the CONNECT host. This is all cuttle decides from inside TLS; it never terminates or inspects TLS further.
 *
 * IP-literal CONNECT (only reachable through `allow_ips`): RFC 6066 §3 forbids IP addresses in SNI, so clients
 * send none. Such a tunnel passes with no SNI, or with an SNI equal to the literal (some clients send it anyway);
 * a name in the SNI would be another destination and fails.
 */
import type { Duplex } from 'node:stream';
import { normalizeSni } from './client-hello.js';
import { type ClientHelloRead, readClientHello } from './read-client-hello.js';

export interface CheckSniOptions {
  readonly head: Buffer;
  /** The decided (normalised) CONNECT host. */
  readonly host: string;
  readonly hostKind: 'name' | 'ipv4' | 'ipv6';
  /** Time the client has to send its ClientHello after the 200. */
  readonly timeoutMs: number;
}

/** The outcome. `buffered` holds every client byte read; on `pass` they go upstream first. */
export interface SniCheck {
  readonly kind: 'pass' | 'mismatch' | 'not_tls' | 'malformed' | 'too_large' | 'timeout' | 'closed';
  /** The SNI as sent (printable ASCII, other bytes as `?`, at most 255 chars) for the log, or null. */
  readonly sni: string | null;
  readonly buffered: Buffer;
}

const MAX_LOGGED_SNI = 255;

/** The SNI as it may appear in a log line: printable ASCII only. */
function loggable(sni: string): string {
  return sni.slice(0, MAX_LOGGED_SNI).replace(/[^\x21-\x7e]/g, '?');
}

/** True when a ClientHello with `sni` may open a tunnel to `host`. */
export function isSniAcceptable(
  sni: string | null,
  host: string,
  hostKind: CheckSniOptions['hostKind'],
): boolean {
  if (sni === null) return hostKind !== 'name';
  return normalizeSni(sni) === host;
}

/** The verdict on what readClientHello read. */
function verdict(read: ClientHelloRead, options: CheckSniOptions): SniCheck {
  if (read.kind !== 'result') return { kind: read.kind, sni: null, buffered: read.buffered };
  const { result } = read;
  if (result.kind === 'hello') {
    const sni = result.sni === null ? null : loggable(result.sni);
    const kind = isSniAcceptable(result.sni, options.host, options.hostKind) ? 'pass' : 'mismatch';
    return { kind, sni, buffered: read.buffered };
  }
  return {
    kind: result.kind === 'need_more' ? 'malformed' : result.kind,
    sni: null,
    buffered: read.buffered,
  };
}

/**
 * Reads the ClientHello from `socket` (nothing is forwarded), checks its SNI against the CONNECT host and calls
 * `done` with the outcome.
 */
export function checkSni(socket: Duplex, options: CheckSniOptions, done: (check: SniCheck) => void): void {
  readClientHello(socket, { head: options.head, timeoutMs: options.timeoutMs }, (read) =>
    done(verdict(read, options)),
  );
}
