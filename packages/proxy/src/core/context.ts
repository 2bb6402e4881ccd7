/**
 * What every traffic path (forward, tunnel) is handed: the compiled policy and config of the moment, the checked
 * resolver, and the sink that turns one finished request or tunnel into one access-log line and metric updates.
 * A reload swaps the whole context object atomically; in-flight work keeps the one it started with.
 */
import type { ClientIdentity, Config, Decision, Policy } from '@cuttle/shared';
import type { ClientInfo } from './client.js';
import type { OriginPool, OriginPools } from './origin-pool.js';
import type { CloseReason, Reason, Verdict } from './outcomes.js';
import type { ParentProxy } from './parent-proxy.js';
import type { SelfEndpoints } from './self-endpoints.js';
import type { TunnelRegistry } from './tunnel-registry.js';

/** One finished request or tunnel, as the access log and the metrics see it. No credentials, no request headers. */
export interface AccessRecord {
  /** Start time, ms since the epoch. */
  time: number;
  /** Client address with zone (`fe80::2%lxdbr0`), or the unix socket name in socket mode. */
  client: string;
  /** Container name when the identity map knows the client, else null. */
  container: string | null;
  method: string;
  host: string;
  port: number;
  /** Path and query for plain HTTP (for the squid format's URL column); null for CONNECT. */
  path: string | null;
  verdict: Verdict;
  /** An allow reason, a deny reason, or an error code (core/outcomes.ts). */
  reason: Reason;
  rule: string | null;
  /** Status sent to the client (200 for an established tunnel); 0 when the connection closed before any status. */
  status: number;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  /** The origin or parent address actually connected to, `addr:port`, or null. */
  upstream: string | null;
  /** Every address the name resolved to (logged on private_address denies), or null. */
  answers: string[] | null;
  /** Why a tunnel (or a relayed response) ended (core/outcomes.ts), or null. */
  closeReason: CloseReason | null;
  /** Tunnels only: the SNI seen in the ClientHello, or null. */
  sni: string | null;
  /** Response content type for the squid format's `%mt`, or null. */
  contentType: string | null;
  /** Plain HTTP: the request was sent a second time on a fresh connection (the reused one failed first). */
  retried?: boolean;
}

/** Resolution result: every answer checked against the private-address guard before any connection. */
export type ResolveResult =
  | { ok: true; addresses: string[] }
  | { ok: false; code: 'private_address'; addresses: string[] }
  | { ok: false; code: 'dns_failure' | 'dns_timeout'; message: string };

/**
 * What one running instance owns for as long as it runs, across reloads: the tunnels open right now and the
 * addresses it listens on. Created by `serve` (or a test's server), handed to every context it builds; never a
 * module singleton, so two instances in one process (tests) share nothing.
 */
export interface ProxyInstance {
  /** Its origin pools (one per config in use; all closed when the instance stops). */
  readonly origins: OriginPools;
  /** The established tunnels, counted by the metrics and closed by a drain that runs out of time. */
  readonly tunnels: TunnelRegistry;
  /**
   * Every TCP address its proxy and metrics listeners are bound to: a destination that is one of them is denied
   * `self_loop` whatever the policy says.
   */
  readonly endpoints: SelfEndpoints;
}

/**
 * One prepared config as the traffic paths use it. Everything here was built once, when the config was loaded
 * (lifecycle/prepare.ts): nothing on a request path reads a file or parses a value of the config.
 */
export interface ProxyContext {
  readonly config: Config;
  /** The compiled policy: the whole decision. */
  readonly policy: Policy;
  /** The parent proxy of `upstream`, or null (direct). */
  readonly parent: ParentProxy | null;
  /**
   * This config's keep-alive pool to plain-HTTP and https origins and to a parent proxy (its TLS settings: the CAs
   * of `tls.ca_file`); retired when a reload replaces the context.
   */
  readonly origins: OriginPool;
  /** Resolves a normalised name (static `dns.hosts` first, cached for TTL) or passes an IP literal through the guard. */
  resolve(host: string, hostKind: Decision['hostKind']): Promise<ResolveResult>;
  /** `resolve`'s answer when it is known without waiting (IP literal, `dns.hosts`, cache), else undefined. */
  resolveNow?(host: string, hostKind: Decision['hostKind']): ResolveResult | undefined;
  /**
   * Which container the client is, as the identity map of the moment sees it (a unix socket's name is its own,
   * authoritative); null when nothing names it. Asked once per request and handed to the policy.
   */
  identify(client: ClientInfo): ClientIdentity | null;
  /** Called exactly once per finished request or tunnel. */
  record(entry: AccessRecord): void;
  /** The running instance this context belongs to (the same object across reloads). */
  readonly instance: ProxyInstance;
}
