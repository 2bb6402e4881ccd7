/**
 * Opens a TCP connection to the first address that accepts, from a list the private-address guard has already
 * checked; no name is ever looked up here. A refusal moves on to the next address; the connect timeout is one
 * deadline for the whole list (a silent address would otherwise cost the timeout once per address).
 */
import { connect, type NetConnectOpts, type OnReadOpts, type Socket } from 'node:net';
import { classifyUpstreamError, type ErrorCode } from '../core/errors.js';

/** Why no connection could be opened: an error code of ../errors.ts (`upstream_refused` 502, `upstream_timeout`
 * 504, ...), or `aborted` when the client went away first. */
export type ConnectResult =
  | { readonly ok: true; readonly socket: Socket; readonly address: string }
  | { readonly ok: false; readonly code: ErrorCode | 'aborted'; readonly message: string };

export interface ConnectAddressesOptions {
  /** Checked addresses, in the resolver's order. */
  readonly addresses: readonly string[];
  readonly port: number;
  readonly timeoutMs: number;
  /** Aborts the attempt (the client went away); the result is then `aborted`. */
  readonly signal?: AbortSignal | undefined;
  /** Reads of the connected socket go here instead of its 'data' events (see tunnel/relay.ts, UpstreamReads). */
  readonly onread?: OnReadOpts | undefined;
}

const failure = (code: ErrorCode | 'aborted', message: string): ConnectResult => ({
  ok: false,
  code,
  message,
});

/**
 * The options of `net.connect`, with the three that net.Socket writes into its own copy of them (emitClose,
 * autoDestroy, decodeStrings) already there, at the values it writes. On Node 20 (V8 11.3) a copy made by spread
 * syntax gets a new hidden class for each key then added, every time, so each socket's options were a shape no
 * inline cache had seen: `new Socket` took 6.3-6.5 µs with the options as they were and 0.25-0.37 µs with these
 * (`node bench/dist/micro/socket-options.js`; Node 24 0.2-0.4 either way), and a raw tunnel set-up on Node 20 took
 * 238 instead of 263 µs of CPU, paired (bench/README.md, "Node 20's socket options"). One shape for every call:
 * `onread` is always a key, undefined when unused.
 */
export function upstreamSocketOptions(
  host: string,
  port: number,
  onread: OnReadOpts | undefined,
): NetConnectOpts & { emitClose: boolean; autoDestroy: boolean; decodeStrings: boolean } {
  return {
    host,
    port,
    allowHalfOpen: true,
    emitClose: false,
    autoDestroy: true,
    decodeStrings: false,
    noDelay: true,
    onread,
  };
}

/** `addr:port` as logged: IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Connects to the first address that accepts. The connected socket is returned with no listener of ours: the caller
 * attaches its error handling as soon as the promise settles. Never rejects.
 */
export function connectAddresses(options: ConnectAddressesOptions): Promise<ConnectResult> {
  const { signal } = options;
  return new Promise((resolve) => {
    if (signal === undefined) {
      openConnection(options, resolve);
      return;
    }
    const onAbort = (): void => cancel();
    const cancel = openConnection(options, (result) => {
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    });
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `connectAddresses` without a promise or an AbortSignal, for the CONNECT path (an AbortController per tunnel, its
 * EventTarget and its listener were a measurable part of a tunnel's set-up: bench/README.md, "CONNECT set-up rate:
 * 2026-12-02"). `done` is called exactly once (at once only when there is nothing to try); the returned function
 * cancels the attempt (`done` then gets `aborted`, unless it was already called; later calls do nothing).
 */
export function openConnection(
  options: Omit<ConnectAddressesOptions, 'signal'>,
  done: (result: ConnectResult) => void,
): () => void {
  const deadline = Date.now() + options.timeoutMs;
  const { addresses, port } = options;
  let index = 0;
  let last = failure('upstream_unreachable', 'no address to connect to');
  let settled = false;
  let aborted = false;
  /** Undoes the attempt in flight (timer, listeners, socket), or null between attempts. */
  let stopAttempt: (() => void) | null = null;
  const finish = (result: ConnectResult): void => {
    if (settled) return;
    settled = true;
    done(result);
  };
  const next = (): void => {
    const address = addresses[index++];
    const left = deadline - Date.now();
    if (aborted) finish(failure('aborted', 'client closed'));
    else if (address === undefined) finish(last);
    else if (left <= 0)
      finish(failure('upstream_timeout', `connect to ${formatHostPort(address, port)} timed out`));
    else attempt(address, left);
  };
  const attempt = (address: string, timeoutMs: number): void => {
    const where = formatHostPort(address, port);
    const socket = connect(upstreamSocketOptions(address, port, options.onread));
    const cleanup = (): void => {
      stopAttempt = null;
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
    };
    const onConnect = (): void => {
      cleanup();
      finish({ ok: true, socket, address });
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup();
      socket.destroy();
      const code = classifyUpstreamError(err);
      last = failure(code, `connect to ${where}: ${err.code ?? err.message}`);
      if (code === 'upstream_timeout') finish(last);
      else next();
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      finish(failure('upstream_timeout', `connect to ${where} timed out`));
    }, timeoutMs);
    stopAttempt = () => {
      cleanup();
      socket.destroy();
    };
    socket.once('connect', onConnect);
    socket.on('error', onError);
  };
  next();
  return () => {
    if (settled || aborted) return;
    aborted = true;
    if (stopAttempt !== null) {
      stopAttempt();
      finish(failure('aborted', 'client closed'));
    }
  };
}
