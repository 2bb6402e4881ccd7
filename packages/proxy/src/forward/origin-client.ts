/**
 * The origin side of plain-HTTP forwarding: pooled HTTP/1.1 connections to checked addresses, parsed by undici's
 * llhttp (the parser of Node's own fetch), one undici `Client` per connection.
 *
 * Why undici `dispatch` with a plain handler object (issue 12, prototypes measured side by side in one run on this
 * machine kind, Node 24, a bare node:http server in front, ../shared/perf-floor/): `http.request` with a keep-alive
 * Agent 40-47 µs per request, undici `Pool.stream` 33-36 µs, undici `dispatch` with a handler object 32-33 µs, a toy
 * Content-Length-only parser 24 µs (unsafe: a floor, not a design). The strict parser is worth more than the 8 µs a
 * hand-written one would save; bench/README.md has cuttle's own figures with this client.
 *
 * Re-measured 2026-12-02 (the machine shared, load 3-8): in one process (a loopback origin with nginx's 1 KiB
 * answer, 50 request loops, user CPU per request, 5 alternating rounds, Node 24) this client costs 11.1 µs, undici
 * `Pool.dispatch` 13.6, the toy parser 7.3; pinned e2e the same hour (../shared/perf-floor/run.sh): the dispatch
 * prototype 36-44 µs, the toy 29-37, cuttle 52-56, Squid 60-69. This file adds about 1 µs over a bare undici Client
 * (the idle lookup, the 1xx filter, release, one handler hop: CPU profile at 100 µs, per request). Taken out after
 * that profile: a string key built per request (0.2-1.1 µs), the `Connection` scan of every response (0.7 µs) and
 * undici's server name derived from Host per request (0.2 µs). The rest of the gap to the toy is undici itself (a JS
 * callback per header field and value from llhttp, a Request object with its header checks, and a setImmediate
 * before each request on a reused socket: its check for bytes an idle socket got, GHSA-35p6-xmwp-9g52). A strict
 * hand-written parser must redo llhttp's checks, so it would win back part of ~4 µs of cuttle's ~52: not its risk.
 *
 *   request(target, spec, handler)
 *     idle connection to one of the checked addresses (in the guard's order, same port and TLS name)? reuse it
 *     else connectAddresses(all checked addresses, in order, one connect deadline) [+ TLS, verified, under the
 *          same deadline] --> a new Client that owns the socket; it never opens another one
 *   response: interim 100 heads dropped before undici sees them (forward/continue-filter.ts); 102/103 passed over;
 *     100/102/103 heads over maxHeaderBytes together, or any other 1xx (undici itself refuses 101 without an
 *     upgrade) --> bad_response
 *   a reused connection that fails before any response byte, for a retryable request --> once more, fresh
 *
 * Connections are keyed by (address, port, TLS server name): a connection is only ever reused for a request whose
 * own checked addresses include the one it is connected to, and an https connection only for the name it
 * verified. One pool per prepared config (its CAs), retired on reload: nothing verified under old CAs is reused.
 */
import type { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { ProxyError } from '../core/errors.js';
import type {
  OriginCall,
  OriginHandler,
  OriginPool,
  OriginRequest,
  OriginStats,
  OriginTarget,
  OriginTls,
} from '../core/origin-pool.js';
import { connectAddresses, formatHostPort } from '../upstream/connect-addresses.js';
import { ContinueFilter } from './continue-filter.js';

/** One idle or busy pooled connection. */
interface Conn {
  /** Its idle list is #idle[address][sub]. */
  readonly address: string;
  readonly sub: SubKey;
  readonly client: Client;
  /** Destroyed by undici once an answer did not keep it alive (it then is never handed out). */
  readonly socket: Socket;
  readonly where: string;
  /** Drops the interim 100 heads undici would refuse; armed before each request. */
  readonly interim: ContinueFilter;
  /** Requests completed on it: > 0 means a request sent now is a reuse. */
  served: number;
  /** Closed or closing: never handed out again. */
  dead: boolean;
}

/** The error undici gets when a Client would open a second socket: ours never does, so it is retried fresh. */
class NoReconnect extends Error {
  override readonly name = 'NoReconnect';
  readonly code = 'CUTTLE_NO_RECONNECT';
}

/** undici's words for an origin answer it refuses to parse (a malformed 100, 101 without Upgrade). */
const BAD_ANSWER = /^bad (response|upgrade)$/;

/** Errors after which a request that got no response byte on a reused connection may be sent again. */
const STALE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'CUTTLE_NO_RECONNECT']);

/** Idle connections kept per (address, port, TLS name and CAs); more are closed when released. */
const MAX_IDLE_PER_KEY = 256;

/** A connection's key below its address: the port for plain HTTP (no string built per request), the port and TLS names for https. */
type SubKey = number | string;

function subKeyOf(port: number, tls: OriginTls | null): SubKey {
  return tls === null ? port : `${port} ${tls.servername ?? ''} ${tls.host}`;
}

/** What a pool is built with (lifecycle/prepare.ts, once per loaded config). */
export interface OriginClientOptions {
  /** The CAs https origins are verified against (system CAs plus `tls.ca_file`), or null for Node's bundled roots. */
  readonly ca: readonly string[] | null;
  /** The instance's counters, shared by every pool it opens. */
  readonly stats: OriginStats;
}

/**
 * The pool of origin connections of one prepared config (its CAs fixed: a reload opens a new pool and retires this
 * one). `request` never throws; `close` destroys every connection (idle and busy).
 */
export class OriginClient implements OriginPool {
  /** Idle connections: address -> sub key -> list (the last released last). */
  readonly #idle = new Map<string, Map<SubKey, Conn[]>>();
  readonly #all = new Set<Conn>();
  readonly #ca: string[] | undefined;
  /** @internal */
  readonly stats: OriginStats;
  #retired: (() => void) | null = null;

  constructor(options: OriginClientOptions) {
    this.#ca = options.ca === null ? undefined : [...options.ca];
    this.stats = options.stats;
  }

  /** Sends `req` to one of `target`'s checked addresses. Returns the exchange, whose `abort()` tears it down. */
  request(target: OriginTarget, req: OriginRequest, handler: OriginHandler): OriginExchange {
    const x = new OriginExchange(this, target, req, handler);
    this.start(x, true);
    return x;
  }

  /** Idle connections right now (for tests and metrics). */
  get idleCount(): number {
    let n = 0;
    for (const bySub of this.#idle.values()) for (const list of bySub.values()) n += list.length;
    return n;
  }

  get connections(): number {
    return this.#all.size;
  }

  retire(onEmpty: () => void): void {
    this.#retired = onEmpty;
    for (const bySub of [...this.#idle.values()])
      for (const list of [...bySub.values()]) for (const conn of [...list]) this.#forget(conn);
    this.#idle.clear();
    this.#checkEmpty();
  }

  close(): void {
    for (const c of this.#all) {
      c.dead = true;
      c.client.destroy().catch(() => {});
    }
    this.#all.clear();
    this.#idle.clear();
    this.#checkEmpty();
  }

  #checkEmpty(): void {
    if (this.#retired === null || this.#all.size > 0) return;
    const onEmpty = this.#retired;
    this.#retired = () => {};
    onEmpty();
  }

  /** @internal Picks an idle connection (when `reuse`) or opens one, then dispatches. */
  start(x: OriginExchange, reuse: boolean): void {
    const { target } = x;
    if (reuse) {
      const sub = subKeyOf(target.port, target.tls);
      for (const address of target.addresses) {
        const list = this.#idle.get(address)?.get(sub);
        while (list !== undefined && list.length > 0) {
          const conn = list.pop() as Conn;
          if (conn.dead) continue;
          if (conn.socket.destroyed) this.#forget(conn);
          else {
            x.dispatch(conn);
            return;
          }
        }
      }
    }
    void this.#open(x);
  }

  async #open(x: OriginExchange): Promise<void> {
    const { target, req } = x;
    const deadline = Date.now() + req.connectTimeoutMs;
    const tcp = await connectAddresses({
      addresses: target.addresses,
      port: target.port,
      timeoutMs: req.connectTimeoutMs,
    });
    if (!tcp.ok) {
      x.fail(new ProxyError(tcp.code === 'aborted' ? 'upstream_failed' : tcp.code, tcp.message));
      return;
    }
    if (x.aborted) {
      tcp.socket.destroy();
      return;
    }
    let socket: Socket | TLSSocket = tcp.socket;
    if (target.tls !== null) {
      const secured = await secure(tcp.socket, target.tls, this.#ca, deadline - Date.now());
      if (secured instanceof Error) {
        x.fail(secured);
        return;
      }
      if (x.aborted) {
        secured.destroy();
        return;
      }
      socket = secured;
    }
    const conn = this.#adopt(socket, tcp.address, subKeyOf(target.port, target.tls), req.maxHeaderBytes);
    conn.client.on('disconnect', () => this.#forget(conn));
    x.dispatch(conn);
  }

  /** A Client that owns `socket` and will never open another one. */
  #adopt(socket: Socket, address: string, sub: SubKey, maxHeaderBytes: number): Conn {
    let handed = false;
    const where = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const client = new Client('http://origin.invalid', {
      // Called back on the next tick: undici's resume loop does not expect the socket synchronously.
      connect: (_options, callback) => {
        if (handed) process.nextTick(callback, new NoReconnect('connection closed'), null);
        else {
          handed = true;
          process.nextTick(callback, null, socket);
        }
      },
      pipelining: 1,
      maxHeaderSize: maxHeaderBytes,
      strictContentLength: true,
      // The origin's `Keep-Alive: timeout=` is honoured (less a second); an idle connection lasts 4 s at most.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
      keepAliveTimeoutThreshold: 1_000,
    });
    const interim = new ContinueFilter(socket, maxHeaderBytes);
    const conn: Conn = { address, sub, client, socket, where, interim, served: 0, dead: false };
    this.#all.add(conn);
    return conn;
  }

  #forget(conn: Conn): void {
    if (conn.dead && !this.#all.has(conn)) return;
    conn.dead = true;
    this.#all.delete(conn);
    conn.client.destroy().catch(() => {});
    const bySub = this.#idle.get(conn.address);
    const list = bySub?.get(conn.sub);
    if (bySub !== undefined && list !== undefined) {
      const i = list.indexOf(conn);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0) {
        bySub.delete(conn.sub);
        if (bySub.size === 0) this.#idle.delete(conn.address);
      }
    }
    this.#checkEmpty();
  }

  /**
   * @internal A connection whose request completed. An answer that did not keep it alive (`Connection: close`,
   * HTTP/1.0, a `Keep-Alive: timeout=` under undici's threshold) is closed by undici itself right after
   * onComplete: its socket is destroyed by the time anyone picks it (its 'disconnect', which forgets it, comes a
   * tick later), so a pick skips it, and no response header is scanned here for it. The `Connection` header scan
   * this replaced saw only the first case; a connection picked in that tick in the other two cost a retry.
   */
  release(conn: Conn): void {
    conn.served++;
    if (conn.dead) return;
    let bySub = this.#idle.get(conn.address);
    let list = bySub?.get(conn.sub);
    // A retired pool hands nothing out again: its connections close as their requests end.
    if (
      conn.socket.destroyed ||
      this.#retired !== null ||
      (list !== undefined && list.length >= MAX_IDLE_PER_KEY)
    ) {
      this.#forget(conn);
      return;
    }
    if (bySub === undefined) {
      bySub = new Map();
      this.#idle.set(conn.address, bySub);
    }
    if (list === undefined) {
      list = [];
      bySub.set(conn.sub, list);
    }
    list.push(conn);
  }

  /** @internal A connection whose request failed: never reused. */
  discard(conn: Conn): void {
    this.#forget(conn);
  }
}

/** TLS over a connected socket, certificate and name verified, within `timeoutMs`. */
function secure(
  socket: Socket,
  tls: OriginTls,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    if (timeoutMs <= 0) {
      socket.destroy();
      resolve(new ProxyError('upstream_timeout', 'TLS handshake timed out'));
      return;
    }
    const s = tlsConnect({
      socket,
      host: tls.host,
      ...(tls.servername === null ? {} : { servername: tls.servername }),
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(new ProxyError('upstream_timeout', 'TLS handshake timed out'));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    s.once('error', onError);
  });
}

/**
 * One request on its way: undici's dispatch handler (a plain object of methods, no closures per request) and the
 * caller's handle.
 */
export class OriginExchange implements Dispatcher.DispatchHandler, OriginCall {
  readonly target: OriginTarget;
  readonly req: OriginRequest;
  readonly #pool: OriginClient;
  readonly #handler: OriginHandler;
  #conn: Conn | null = null;
  #abort: ((err?: Error) => void) | null = null;
  #headers = false;
  #retried = false;
  #done = false;
  aborted = false;

  constructor(pool: OriginClient, target: OriginTarget, req: OriginRequest, handler: OriginHandler) {
    this.#pool = pool;
    this.target = target;
    this.req = req;
    this.#handler = handler;
  }

  /** The client went away: tear the request down (its connection is not reused). Nothing more is reported. */
  abort(): void {
    if (this.#done) return;
    this.aborted = true;
    this.#done = true;
    this.#abort?.(new ProxyError('upstream_failed', 'client closed'));
  }

  /** @internal */
  dispatch(conn: Conn): void {
    this.#conn = conn;
    this.#abort = null;
    this.#handler.onUpstream(conn.where);
    conn.interim.arm();
    conn.client.dispatch(
      {
        origin: 'http://origin.invalid',
        method: this.req.method as Dispatcher.HttpMethod,
        path: this.req.path,
        headers: this.req.headers,
        body: this.req.body,
        headersTimeout: this.req.responseTimeoutMs,
        bodyTimeout: this.req.responseTimeoutMs,
        // undici derives a TLS server name from the Host header per request unless given one; the Client's own
        // socket (TLS done by cuttle, or plain) never uses it.
        servername: 'origin.invalid',
      } as Dispatcher.DispatchOptions,
      this,
    );
  }

  /** @internal Could not connect at all. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onError(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.aborted) abort(new ProxyError('upstream_failed', 'client closed'));
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (status < 200) {
      // 102 Processing and 103 Early Hints are passed over (a 100 never gets here: the filter dropped it); any other
      // 1xx (undici refuses 101 itself) is an answer cuttle cannot relay: 502 at once, the connection discarded
      // (issue 16 item 1).
      if (status === 102 || status === 103) return true;
      this.#abort?.(new ProxyError('bad_response', `unexpected ${status} from the origin`));
      return false;
    }
    this.#headers = true;
    return this.#handler.onHeaders(status, rawHeaders, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.#handler.onData(chunk);
  }

  onComplete(): void {
    const conn = this.#conn;
    if (conn !== null) this.#pool.release(conn);
    if (this.#done) return;
    this.#done = true;
    this.#handler.onComplete();
  }

  onError(err: Error): void {
    const conn = this.#conn;
    const reused = conn !== null && conn.served > 0;
    if (conn !== null) this.#pool.discard(conn);
    if (this.#done) return;
    const code = (err as { code?: unknown }).code;
    // A connection that was never used would have been retried if it were stale: NoReconnect means the Client was
    // asked to reconnect, so nothing was sent; a reused connection that fails before a byte came back may have
    // been closed by the origin as it was reused (RFC 9110 9.2.2: an idempotent request may be sent again).
    if (
      !this.#headers &&
      !this.#retried &&
      !this.aborted &&
      typeof code === 'string' &&
      STALE.has(code) &&
      !(code === 'UND_ERR_SOCKET' && BAD_ANSWER.test(err.message)) &&
      (code === 'CUTTLE_NO_RECONNECT' || (reused && this.req.retryable))
    ) {
      this.#retried = true;
      this.#pool.stats.retries++;
      this.#handler.onRetry();
      this.#pool.start(this, false);
      return;
    }
    this.#done = true;
    if (code === 'UND_ERR_SOCKET' && BAD_ANSWER.test(err.message)) {
      this.#handler.onError(new ProxyError('bad_response', `the origin answered with ${err.message}`));
      return;
    }
    this.#handler.onError(err);
  }
}
