/**
 * CONNECT tunnels. Nothing reaches the network before the decision and the guard, and no client byte reaches the
 * origin before the SNI check has passed.
 *
 *   CONNECT host:port --parseProxyTarget--> 400
 *                     --policy.decide--> 403 X-Cuttle-Deny
 *                     --ctx.resolve (guard; the parent's host when chained)--> 403 private_address | 502 dns
 *                     --an answer is one of our own listeners (instance.endpoints)--> 403 self_loop
 *                     --connect checked addresses (or CONNECT via parent)--> 502 refused | 504 timeout
 *   "200 Connection established"
 *     --port in connect.http_ports: read first request head (bounded, timed), Host (and absolute target) ==
 *       host:port?--> close (host_mismatch, nothing sent upstream)
 *     --else require_sni: read ClientHello (bounded, timed), SNI == host?--> close (sni_mismatch, nothing sent upstream)
 *     --relay (backpressure, half-close, idle timeout)--> both sides closed
 *   every outcome --> ctx.record(one AccessRecord)
 */

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ClientIdentity, type Decision, type DenyReason, parseProxyTarget } from '@cuttle/shared';
import { newAccessRecord } from '../core/access-record.js';
import { rawAnswer, rawDeny, rawError } from '../core/answers.js';
import { type ClientInfo, clientOf } from '../core/client.js';
import type { AccessRecord, ProxyContext, ResolveResult } from '../core/context.js';
import { ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { formatHostPort, openConnection } from '../upstream/connect-addresses.js';
import { connectViaParent } from '../upstream/parent-connect.js';
import { checkHttpHost } from './check-http-host.js';
import { checkSni } from './check-sni.js';
import { startRelay, UpstreamReads } from './relay.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
/** How long a refused client gets to read our answer and close before we drop the connection. */
const LINGER_MS = 2_000;

/** An allow, or a report-mode would-deny (which goes through like one). */
type Allowed = Exclude<Decision, { verdict: 'deny' }>;

/**
 * Handles a CONNECT request, handed over by the server's 'connect' event or read by its plain-CONNECT path
 * (server/plain-connect.ts): `target` as sent, `http1` when the request line said HTTP/1.x, `head` the client
 * bytes read past the head. Owns `socket` from then on: always answers with a status line or relays, and records
 * exactly one AccessRecord. The client is what the server recorded on the socket at accept time (`clientOf`).
 */
export function handleConnect(
  ctx: ProxyContext,
  target: string,
  http1: boolean,
  socket: Duplex,
  head: Buffer,
): void {
  new Tunnel(ctx, socket, clientOf(socket as Socket)).run(target, head, http1);
}

/**
 * One CONNECT from the request to its record. The steps are plain calls and callbacks, not an async function:
 * a static-hosts answer (`resolveNow`) and a direct connect need no promise and no AbortController, which were a
 * measurable part of a tunnel's set-up (bench/README.md, "CONNECT set-up rate: 2026-12-02"). Every step runs
 * through `#guard`, so a bug fails closed instead of escaping into node's event handlers.
 */
class Tunnel {
  readonly #ctx: ProxyContext;
  readonly #socket: Duplex;
  readonly #client: ClientInfo;
  /** Which container the client is (asked once, at the start), for the decision and the record. */
  readonly #identity: ClientIdentity | null;
  readonly #rec: AccessRecord;
  /** The client errored, sent its FIN or closed before the relay took over. */
  #gone = false;
  /** Cancels the direct connect in flight. */
  #cancel: (() => void) | null = null;
  /** Only for a connect through the parent (connectViaParent takes a signal). */
  #abort: AbortController | null = null;
  #recorded = false;

  constructor(ctx: ProxyContext, socket: Duplex, client: ClientInfo) {
    this.#ctx = ctx;
    this.#socket = socket;
    this.#client = client;
    this.#identity = ctx.identify(client);
    this.#rec = newAccessRecord(client.label, 'CONNECT', 'bad_target');
    this.#rec.container = this.#identity?.name ?? null;
    // The server's own timeouts and listeners no longer apply: this socket is a tunnel now.
    (socket as Partial<Socket>).setTimeout?.(0);
    (socket as Partial<Socket>).setNoDelay?.(true);
    // Until the relay takes over, a client error, FIN or close aborts what is in progress.
    socket.on('error', this.#onEarlyGone);
    socket.on('end', this.#onEarlyGone);
    socket.on('close', this.#onEarlyGone);
  }

  readonly #onEarlyGone = (): void => {
    this.#gone = true;
    const cancel = this.#cancel;
    this.#cancel = null;
    cancel?.();
    this.#abort?.abort();
  };

  /** `http1`: the request line said HTTP/1.x (llhttp also takes HTTP/2.0 and HTTP/0.9, refused here with 505). */
  run(target: string, head: Buffer, http1: boolean): void {
    try {
      if (http1) this.#start(target, head);
      else this.#fail('unsupported_version');
    } catch {
      this.#bug();
    }
  }

  /** Runs one step of the set-up; a throw is a bug, not a client's doing. */
  #guard(step: () => void): void {
    try {
      step();
    } catch {
      this.#bug();
    }
  }

  /** Fails closed (a 502 if no status went out yet) and keeps the daemon up. */
  #bug(): void {
    if (this.#rec.status === 0) {
      this.#fail('upstream_failed');
      return;
    }
    this.#socket.destroy();
    this.#record();
  }

  #start(target: string, head: Buffer): void {
    const rec = this.#rec;
    const parsed = parseProxyTarget('CONNECT', target);
    if (!parsed.ok) {
      this.#fail('bad_target');
      return;
    }
    rec.host = parsed.host;
    rec.port = parsed.port;

    const client = this.#client;
    // One question, one answer: the zone rule, clients, method, lists, container grants and report mode are all in it.
    const decision = this.#ctx.policy.decide({
      client: client.address,
      method: 'CONNECT',
      host: parsed.host,
      port: parsed.port,
      listener: client.listener,
      identity: this.#identity,
    });
    rec.host = decision.host;
    rec.rule = decision.rule;
    if (decision.verdict === 'deny') {
      this.#deny(decision.reason);
      return;
    }
    // A would-deny goes through like an allow and is logged as what it is.
    rec.verdict = decision.verdict;
    rec.reason = decision.reason;

    const ctx = this.#ctx;
    // Chained, the parent resolves the origin's name: the guard can only check the parent's own address.
    const askHost = ctx.parent ? ctx.parent.host : decision.host;
    const askKind = ctx.parent ? ctx.parent.hostKind : decision.hostKind;
    // Known at once (an IP literal, `dns.hosts`, the cache): no promise and no turn of the event loop.
    const known = ctx.resolveNow?.(askHost, askKind);
    if (known !== undefined) {
      this.#resolved(decision, parsed.port, head, known);
      return;
    }
    ctx.resolve(askHost, askKind).then(
      (resolved) => this.#guard(() => this.#resolved(decision, parsed.port, head, resolved)),
      () => this.#bug(),
    );
  }

  /** The guard's answer is in: refuse, or connect (directly or through the parent). */
  #resolved(decision: Allowed, targetPort: number, head: Buffer, resolved: ResolveResult): void {
    const rec = this.#rec;
    if (this.#gone) {
      this.#clientGone();
      return;
    }
    if (!resolved.ok) {
      if (resolved.code === 'private_address') {
        rec.answers = resolved.addresses;
        this.#deny('private_address');
        return;
      }
      this.#fail(resolved.code);
      return;
    }
    const parent = this.#ctx.parent;
    // Whatever the allowlist and ranges say, never connect back into this process (tunnels nesting without bound).
    const port = parent ? parent.port : targetPort;
    if (resolved.addresses.some((a) => this.#ctx.instance.endpoints.isSelf(a, port))) {
      rec.answers = resolved.addresses;
      this.#deny('self_loop');
      return;
    }

    const timeoutMs = this.#ctx.config.timeouts.upstream_connect_ms;
    if (parent) {
      const abort = new AbortController();
      this.#abort = abort;
      connectViaParent({
        parent,
        addresses: resolved.addresses,
        host: decision.host,
        port: targetPort,
        timeoutMs,
        signal: abort.signal,
      }).then(
        (result) =>
          this.#guard(() => {
            rec.upstream = result.address;
            if (!result.ok) {
              if (result.code === 'aborted') return this.#clientGone();
              return this.#fail(result.code, result.parentStatus);
            }
            this.#established(decision, result.socket, head, result.head, undefined);
          }),
        () => this.#bug(),
      );
      return;
    }
    // Read into a reused buffer, not a Buffer per read (a parent's answer is read from 'data', so not there).
    const reads = new UpstreamReads();
    this.#cancel = openConnection(
      { addresses: resolved.addresses, port: targetPort, timeoutMs, onread: reads.onread },
      (result) =>
        this.#guard(() => {
          this.#cancel = null;
          if (!result.ok) {
            if (result.code === 'aborted') return this.#clientGone();
            return this.#fail(result.code);
          }
          rec.upstream = formatHostPort(result.address, targetPort);
          this.#established(decision, result.socket, head, undefined, reads);
        }),
    );
  }

  /** The upstream connection is up: answer 200, check the SNI if required, then relay. */
  #established(
    decision: Allowed,
    upstream: Socket,
    head: Buffer,
    firstDown: Buffer | undefined,
    reads: UpstreamReads | undefined,
  ): void {
    const socket = this.#socket;
    // Errors on the upstream before the relay starts are seen through its 'close'; swallow them here.
    upstream.on('error', noop);
    if (this.#gone) {
      upstream.destroy();
      this.#clientGone();
      return;
    }
    this.#rec.status = 200;
    socket.write(ESTABLISHED);
    if (this.#ctx.config.connect.http_ports.includes(this.#rec.port)) {
      this.#checkHttp(decision, upstream, head, firstDown, reads);
      return;
    }
    if (!this.#ctx.config.connect.require_sni) {
      this.#relay(upstream, head, firstDown, reads);
      return;
    }
    const options = {
      head,
      host: decision.host,
      hostKind: decision.hostKind,
      timeoutMs: this.#ctx.config.timeouts.header_ms,
    };
    checkSni(socket, options, (check) =>
      this.#guard(() => {
        this.#rec.sni = check.sni;
        if (check.kind === 'pass') return this.#relay(upstream, check.buffered, firstDown, reads);
        // A TLS client gets a fatal unrecognized_name alert, so it reports why; anything else is just closed.
        this.#refuseTunnel(upstream, check.kind, 'sni_mismatch', UNRECOGNIZED_NAME_ALERT);
      }),
    );
  }

  /** A `connect.http_ports` tunnel: the first request must name the CONNECT host and port, else close. */
  #checkHttp(
    decision: Allowed,
    upstream: Socket,
    head: Buffer,
    firstDown: Buffer | undefined,
    reads: UpstreamReads | undefined,
  ): void {
    const socket = this.#socket;
    const options = {
      head,
      host: decision.host,
      port: this.#rec.port,
      timeoutMs: this.#ctx.config.timeouts.header_ms,
      maxBytes: this.#ctx.config.limits.max_header_bytes,
    };
    checkHttpHost(socket, options, (check) =>
      this.#guard(() => {
        if (check.kind === 'pass') return this.#relay(upstream, check.buffered, firstDown, reads);
        // An HTTP client gets a 403 naming the reason inside the tunnel, so it reports why; anything else is closed.
        this.#refuseTunnel(upstream, check.kind, 'host_mismatch', HOST_MISMATCH_ANSWER);
      }),
    );
  }

  /**
   * Ends a tunnel whose first bytes failed their check (or whose client left first): nothing was sent upstream.
   * A `mismatch` (the client spoke the expected protocol about another host) gets `farewell` before the close.
   */
  #refuseTunnel(
    upstream: Socket,
    kind: string,
    reason: 'sni_mismatch' | 'host_mismatch',
    farewell: Buffer | string,
  ): void {
    const socket = this.#socket;
    upstream.destroy();
    if (kind === 'closed') {
      this.#rec.closeReason = 'client_end';
      socket.destroy();
      this.#record();
      return;
    }
    this.#rec.verdict = 'deny';
    this.#rec.reason = reason;
    this.#rec.closeReason = reason;
    if (kind === 'mismatch') {
      socket.end(farewell, () => socket.destroy());
      socket.resume();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    } else {
      socket.destroy();
    }
    this.#record();
  }

  #relay(
    upstream: Socket,
    firstUp: Buffer,
    firstDown: Buffer | undefined,
    reads: UpstreamReads | undefined,
  ): void {
    const socket = this.#socket;
    socket.off('error', this.#onEarlyGone);
    socket.off('end', this.#onEarlyGone);
    socket.off('close', this.#onEarlyGone);
    upstream.off('error', noop);
    const relay = startRelay(
      socket,
      upstream,
      { idleMs: this.#ctx.config.timeouts.tunnel_idle_ms, firstUp, firstDown, reads },
      (stats) => {
        untrack();
        this.#rec.bytesUp = stats.bytesUp;
        this.#rec.bytesDown = stats.bytesDown;
        this.#rec.closeReason = stats.closeReason;
        this.#record();
      },
    );
    const untrack = this.#ctx.instance.tunnels.track(relay);
  }

  #deny(reason: DenyReason): void {
    this.#rec.verdict = 'deny';
    this.#rec.reason = reason;
    this.#answer(reason === 'limit_exceeded' ? 503 : 403, rawDeny(reason));
  }

  /** Answers a failure with its status line (`status` overrides the code's own, for a parent's refusal). */
  #fail(code: ErrorCode, status?: number): void {
    this.#rec.verdict = 'error';
    this.#rec.reason = code;
    const own = ERROR_CODES[code].status;
    if (status === undefined || status === 0 || status === own) {
      this.#answer(own, rawError(code));
    } else {
      const body = `The parent proxy refused the tunnel (${status}).\n`;
      this.#answer(status, rawAnswer(status, { 'X-Cuttle-Error': code }, body));
    }
  }

  /**
   * Sends a final answer and closes. The client's unread bytes are drained meanwhile: closing a socket with
   * unread data makes the kernel send a reset, which can destroy the answer before the client reads it.
   */
  #answer(status: number, text: string): void {
    const socket = this.#socket;
    this.#rec.status = status;
    if (!socket.destroyed) {
      socket.end(text);
      socket.resume();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    }
    this.#record();
  }

  /** The client left before the tunnel was up (the decision, always made first, stays the record's verdict). */
  #clientGone(): void {
    this.#rec.closeReason = 'client_end';
    this.#socket.destroy();
    this.#record();
  }

  #record(): void {
    if (this.#recorded) return;
    this.#recorded = true;
    this.#rec.durationMs = Date.now() - this.#rec.time;
    this.#ctx.record(this.#rec);
  }
}

function noop(): void {}

/** A fatal TLS alert record: unrecognized_name (112), RFC 8446 §6.2. */
const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);
/** The answer inside a `connect.http_ports` tunnel whose first request names another host. */
const HOST_MISMATCH_ANSWER = rawDeny('host_mismatch');
