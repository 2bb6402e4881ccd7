/**
 * The proxy's Prometheus metrics (prom-client, one Registry per process). Every label is bounded (labels.ts).
 * Request counts, durations and bytes come from the access records; connections, tunnels, DNS and upstream-connect
 * latency from the functions exported here, which the server and the traffic paths call.
 */
import client from 'prom-client';
import type { AccessRecord } from '../core/context.js';
import { closeLabel, methodLabel, reasonLabel } from './labels.js';
import { CounterTally, HistogramTally, mergeCounters } from './tally.js';

/** prom-client 15 default gauges whose `_total` suffix promtool rejects; the same values exist per type without it. */
const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** HTTP request durations, seconds. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Tunnel lifetimes, seconds: from sub-second to hours. */
const TUNNEL_BUCKETS = [0.1, 1, 5, 15, 60, 300, 900, 3600, 14_400];
/** DNS and connect latencies, seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Outcome of one resolution, as a label. */
export type DnsResult = 'ok' | 'private_address' | 'dns_failure' | 'dns_timeout';

/** The metrics of one proxy process. */
export class ProxyMetrics {
  readonly registry = new client.Registry();
  readonly #sni: client.Counter;
  readonly #reloads: client.Counter<'result'>;
  readonly #reloadOk: client.Gauge;
  readonly #dropped: client.Counter<'action'>;
  readonly #containers: client.Counter<'container' | 'verdict'>;
  // Per-request updates are tallies bound to their label set once (tally.ts), merged into the metrics at scrape.
  /** cuttle_requests_total: by reason label, then scanned for method and verdict (a handful per reason). */
  readonly #requestTallies = new Map<string, CounterTally<'method' | 'verdict' | 'reason'>[]>();
  /** The same tallies in the order they were created: merged in that order, the series appear as they did. */
  readonly #requestOrder: CounterTally<'method' | 'verdict' | 'reason'>[] = [];
  readonly #durationTallies = new Map<string, HistogramTally<'verdict'>>();
  readonly #tunnelTallies = new Map<string, HistogramTally<'close_reason'>>();
  readonly #dnsTallies = new Map<string, HistogramTally<'result'>>();
  readonly #connectTallies = new Map<string, HistogramTally<'result'>>();
  /** cuttle_bytes_total: up/down x http/connect, created on first use (no series before any byte). */
  readonly #bytesTallies: (CounterTally<'direction' | 'kind'> | null)[] = [null, null, null, null];
  readonly #bytesOrder: CounterTally<'direction' | 'kind'>[] = [];
  #activeConnections: () => number = () => 0;
  #activeTunnels: () => number = () => 0;
  #retries: () => number = () => 0;
  #accepting: () => boolean = () => true;
  #refusedDescriptors: () => number = () => 0;
  #processMetrics = false;

  /**
   * prom-client's process and Node metrics (CPU, memory, event-loop lag, GC), from the first metrics listener on:
   * its event-loop monitor wakes the process every 10 ms, which a proxy with `metrics.listen: null` (nobody to
   * read them) should not pay. Idempotent; a reload that turns metrics on calls it then.
   */
  startProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    client.collectDefaultMetrics({ register: this.registry });
    for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);
  }

  constructor() {
    const registers = [this.registry];
    const self = this;
    new client.Counter({
      name: 'cuttle_requests_total',
      help: 'Finished requests and tunnels by method, verdict (allow, deny, would_deny, error) and reason.',
      labelNames: ['method', 'verdict', 'reason'],
      registers,
      collect() {
        mergeCounters(this, self.#requestOrder);
      },
    });
    new client.Histogram({
      name: 'cuttle_request_duration_seconds',
      help: 'Time from request head to the end of the response, plain HTTP.',
      labelNames: ['verdict'],
      buckets: REQUEST_BUCKETS,
      registers,
      collect() {
        for (const t of self.#durationTallies.values()) t.mergeInto(this);
      },
    });
    new client.Histogram({
      name: 'cuttle_tunnel_duration_seconds',
      help: 'Lifetime of CONNECT tunnels (and refused CONNECTs), by close reason.',
      labelNames: ['close_reason'],
      buckets: TUNNEL_BUCKETS,
      registers,
      collect() {
        for (const t of self.#tunnelTallies.values()) t.mergeInto(this);
      },
    });
    new client.Counter({
      name: 'cuttle_bytes_total',
      help: 'Body and tunnel bytes relayed: up (client to origin) and down (origin to client), by kind (http, connect).',
      labelNames: ['direction', 'kind'],
      registers,
      collect() {
        mergeCounters(this, self.#bytesOrder);
      },
    });
    new client.Gauge({
      name: 'cuttle_active_connections',
      help: 'Client connections open on the proxy listeners.',
      registers,
      collect() {
        this.set(self.#activeConnections());
      },
    });
    new client.Counter({
      name: 'cuttle_upstream_retries_total',
      help: 'Plain-HTTP requests sent a second time on a fresh connection because the reused one failed before any response byte.',
      registers,
      collect() {
        this.reset();
        this.inc(self.#retries());
      },
    });
    new client.Gauge({
      name: 'cuttle_accepting',
      help: '1 while the proxy listeners take connections, 0 while file descriptors run short (near RLIMIT_NOFILE).',
      registers,
      collect() {
        this.set(self.#accepting() ? 1 : 0);
      },
    });
    new client.Counter({
      name: 'cuttle_connections_refused_descriptors_total',
      help: 'Client connections closed at accept because file descriptors ran short (near RLIMIT_NOFILE).',
      registers,
      collect() {
        this.reset();
        this.inc(self.#refusedDescriptors());
      },
    });
    new client.Gauge({
      name: 'cuttle_active_tunnels',
      help: 'Established CONNECT tunnels.',
      registers,
      collect() {
        this.set(self.#activeTunnels());
      },
    });
    new client.Histogram({
      name: 'cuttle_dns_lookup_duration_seconds',
      help: 'Time to resolve and check a destination name, by result.',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect() {
        for (const t of self.#dnsTallies.values()) t.mergeInto(this);
      },
    });
    new client.Histogram({
      name: 'cuttle_upstream_connect_duration_seconds',
      help: 'Time to open a TCP connection to an origin or parent, by result (ok, error).',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect() {
        for (const t of self.#connectTallies.values()) t.mergeInto(this);
      },
    });
    this.#sni = new client.Counter({
      name: 'cuttle_sni_mismatches_total',
      help: 'CONNECT tunnels closed because the ClientHello SNI was missing or not the CONNECT host.',
      registers,
    });
    this.#reloads = new client.Counter({
      name: 'cuttle_config_reloads_total',
      help: 'Config reloads (SIGHUP) by result: ok, or error (the old config stays).',
      labelNames: ['result'],
      registers,
    });
    this.#reloadOk = new client.Gauge({
      name: 'cuttle_config_last_reload_successful',
      help: '1 if the last config reload succeeded (or none was tried), 0 if it failed.',
      registers,
    });
    this.#reloadOk.set(1);
    this.#dropped = new client.Counter({
      name: 'cuttle_connections_dropped_total',
      help: 'Client connections turned away by a connection limit, by action (reject: 503, drop: closed).',
      labelNames: ['action'],
      registers,
    });
    this.#containers = new client.Counter({
      name: 'cuttle_container_requests_total',
      help: 'Finished requests and tunnels of clients the identity map names, by instance name and verdict.',
      labelNames: ['container', 'verdict'],
      registers,
    });
    // Zero series up front so rates exist before the first event.
    for (const result of ['ok', 'error']) this.#reloads.inc({ result }, 0);
    for (const action of ['reject', 'drop']) this.#dropped.inc({ action }, 0);
    this.#sni.inc(0);
  }

  /** Counts one finished request or tunnel (called by the access sink). */
  observeRecord(e: AccessRecord): void {
    const method = methodLabel(e.method);
    const reason = reasonLabel(e.reason);
    const verdict = e.verdict;
    let list = this.#requestTallies.get(reason);
    if (list === undefined) {
      list = [];
      this.#requestTallies.set(reason, list);
    }
    let requests: CounterTally<'method' | 'verdict' | 'reason'> | undefined;
    for (const t of list) {
      if (t.labels.method === method && t.labels.verdict === verdict) {
        requests = t;
        break;
      }
    }
    if (requests === undefined) {
      requests = new CounterTally({ method, verdict, reason });
      list.push(requests);
      this.#requestOrder.push(requests);
    }
    requests.pending++;
    const connect = e.method === 'CONNECT';
    const seconds = e.durationMs / 1000;
    if (connect) {
      const label = closeLabel(e.closeReason);
      let t = this.#tunnelTallies.get(label);
      if (t === undefined) {
        t = new HistogramTally({ close_reason: label }, TUNNEL_BUCKETS);
        this.#tunnelTallies.set(label, t);
      }
      t.observe(seconds);
    } else if (e.method !== '-') {
      let t = this.#durationTallies.get(verdict);
      if (t === undefined) {
        t = new HistogramTally({ verdict }, REQUEST_BUCKETS);
        this.#durationTallies.set(verdict, t);
      }
      t.observe(seconds);
    }
    if (e.bytesUp > 0) this.#bytesTally(0, connect).pending += e.bytesUp;
    if (e.bytesDown > 0) this.#bytesTally(1, connect).pending += e.bytesDown;
    if (e.reason === 'sni_mismatch') this.#sni.inc();
    if (e.container !== null) this.#containers.inc({ container: e.container, verdict });
    if (e.reason === 'limit_exceeded') this.#dropped.inc({ action: e.status === 0 ? 'drop' : 'reject' });
  }

  /** The bytes counter's tally for a direction (0 up, 1 down) and kind, created on first use. */
  #bytesTally(direction: 0 | 1, connect: boolean): CounterTally<'direction' | 'kind'> {
    const i = direction * 2 + (connect ? 1 : 0);
    let t = this.#bytesTallies[i];
    if (t === null || t === undefined) {
      t = new CounterTally({
        direction: direction === 0 ? 'up' : 'down',
        kind: connect ? 'connect' : 'http',
      });
      this.#bytesTallies[i] = t;
      this.#bytesOrder.push(t);
    }
    return t;
  }

  /** Records one resolution's latency. */
  observeDnsLookup(seconds: number, result: DnsResult): void {
    let t = this.#dnsTallies.get(result);
    if (t === undefined) {
      t = new HistogramTally({ result }, LATENCY_BUCKETS);
      this.#dnsTallies.set(result, t);
    }
    t.observe(seconds);
  }

  /** Records one upstream TCP connect's latency. */
  observeUpstreamConnect(seconds: number, ok: boolean): void {
    const result = ok ? 'ok' : 'error';
    let t = this.#connectTallies.get(result);
    if (t === undefined) {
      t = new HistogramTally({ result }, LATENCY_BUCKETS);
      this.#connectTallies.set(result, t);
    }
    t.observe(seconds);
  }

  /** Counts a reload attempt. */
  observeReload(ok: boolean): void {
    this.#reloads.inc({ result: ok ? 'ok' : 'error' });
    this.#reloadOk.set(ok ? 1 : 0);
  }

  /** Where the active-connection and active-tunnel gauges and the retry counter read their values at scrape time. */
  setActiveSources(sources: {
    connections?: () => number;
    tunnels?: () => number;
    retries?: () => number;
    accepting?: () => boolean;
    refusedDescriptors?: () => number;
  }): void {
    if (sources.accepting) this.#accepting = sources.accepting;
    if (sources.refusedDescriptors) this.#refusedDescriptors = sources.refusedDescriptors;
    if (sources.connections) this.#activeConnections = sources.connections;
    if (sources.tunnels) this.#activeTunnels = sources.tunnels;
    if (sources.retries) this.#retries = sources.retries;
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
