/**
 * A CONNECT tunnel through the parent proxy, opened only after our own decision allowed the request:
 *
 *   connect to a checked parent address -> "CONNECT host:port" + Proxy-Authorization -> read the parent's head
 *   -> 2xx: the socket is a tunnel to the origin (bytes after the head belong to it) | else: the parent's status
 *
 * The parent resolves the origin's name, so our private-address guard can only apply to the parent's address.
 */
import type { Socket } from 'node:net';
import type { ErrorCode } from '../core/errors.js';
import { connectAddresses, formatHostPort } from './connect-addresses.js';
import type { ParentProxy } from './parent-proxy.js';

/** Largest parent response head we read; a real one is a status line and a few headers. */
const MAX_HEAD_BYTES = 16_384;
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: [^\r\n]*)?$/;

export interface ParentConnectOptions {
  readonly parent: ParentProxy;
  /** The parent's addresses, already checked by the private-address guard. */
  readonly addresses: readonly string[];
  /** The CONNECT target as decided: normalised host (IPv6 without brackets) and port. */
  readonly host: string;
  readonly port: number;
  /** Applies to the TCP connect to the parent and, again, to the parent's answer. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export type ParentConnectResult =
  | { readonly ok: true; readonly socket: Socket; readonly address: string; readonly head: Buffer }
  | {
      readonly ok: false;
      readonly code: ErrorCode | 'aborted';
      /** The status to send the client: the parent's own 4xx/5xx when it refused (407 becomes 502), else 0. */
      readonly parentStatus: number;
      readonly address: string | null;
      readonly message: string;
    };

/** The CONNECT request head sent to the parent. */
export function parentConnectHead(parent: ParentProxy, host: string, port: number): string {
  const authority = formatHostPort(host, port);
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (parent.authorization !== null) head += `Proxy-Authorization: ${parent.authorization}\r\n`;
  return `${head}\r\n`;
}

/** Opens a tunnel through the parent. Never rejects; on failure no socket is left open. */
export async function connectViaParent(options: ParentConnectOptions): Promise<ParentConnectResult> {
  const { parent } = options;
  const connected = await connectAddresses({
    addresses: options.addresses,
    port: parent.port,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  if (!connected.ok) {
    const message = `parent ${parent.redacted}: ${connected.message}`;
    return { ok: false, code: connected.code, parentStatus: 0, address: null, message };
  }
  const { socket } = connected;
  const address = formatHostPort(connected.address, parent.port);
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (result: ParentConnectResult): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.pause();
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const fail = (code: ErrorCode | 'aborted', message: string, parentStatus = 0): void =>
      finish({ ok: false, code, parentStatus, address, message: `parent ${parent.redacted}: ${message}` });
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES) fail('bad_response', 'response head too large');
        return;
      }
      const lineEnd = buffered.indexOf('\r\n');
      const match = STATUS_LINE.exec(buffered.toString('latin1', 0, lineEnd));
      const status = match === null ? 0 : Number(match[1]);
      if (status === 0) {
        fail('bad_response', 'malformed status line');
      } else if (status >= 200 && status < 300) {
        finish({ ok: true, socket, address, head: buffered.subarray(end + 4) });
      } else {
        // A 407 means our credentials for the parent are wrong: nothing the client can fix, so a 502.
        const relayed = status >= 400 && status !== 407 ? status : 502;
        fail('upstream_failed', `answered CONNECT with ${status}`, relayed);
      }
    };
    const onError = (err: Error): void => fail('upstream_reset', err.message);
    const onEnd = (): void => fail('upstream_reset', 'closed before answering CONNECT');
    const onAbort = (): void => fail('aborted', 'client closed');
    const timer = setTimeout(
      () => fail('upstream_timeout', 'no answer to CONNECT in time'),
      options.timeoutMs,
    );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(parentConnectHead(parent, options.host, options.port));
  });
}
