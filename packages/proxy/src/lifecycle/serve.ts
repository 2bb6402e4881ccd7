/**
 * The daemon's life after its config loaded: open the access log, start the metrics listener, bind the proxy
 * listeners, then serve until a drain ends it. Reload, drain and log reopen come from signals.ts.
 *
 *   log sink -> metrics -> proxy listeners -> [SIGHUP reload | SIGUSR1 reopen]* -> SIGTERM/SIGINT drain -> exit 0
 *
 * Every context's `record` goes through `state.sink`, so a reload that reopens the log under new settings moves
 * in-flight requests' lines to the new file too.
 */
import { type Config, changedConfigKeys } from '@cuttle/shared';
import type { AccessRecord, ProxyContext } from '../core/context.js';
import {
  EMPTY_IDENTITY,
  followIdentityMap,
  type IdentityMap,
  type IdentitySource,
} from '../identity/index.js';
import { type AccessSink, createAccessSink } from '../log/index.js';
import { ProxyMetrics, watchUpstreamConnects } from '../metrics/index.js';
import { type ProxyServer, startProxyServer } from '../server/index.js';
import { type MetricsServer, startMetricsServer } from '../server/metrics-server.js';
import { buildContext } from './build-context.js';
import { ClientSockets } from './client-sockets.js';
import { createProxyInstance } from './create-context.js';
import { startDescriptorGuard } from './descriptor-guard.js';
import { drainConnections } from './drain.js';
import type { PreparedConfig } from './prepare.js';
import { loadReloadCandidate, sameEntries } from './reload.js';
import { installSignalHandlers } from './signals.js';

/** Exit codes of `serve` (the CLI's scheme). */
const EXIT_OK = 0;
const EXIT_RUNTIME = 3;

export interface ServeOptions {
  /** The config file (read again on SIGHUP). */
  readonly file: string;
  /** Its config, prepared (policy, parent, origin client factory). */
  readonly prepared: PreparedConfig;
  /** The proxy's own messages (stderr). */
  readonly say: (line: string) => void;
}

interface State {
  config: Config;
  sink: AccessSink;
  metricsServer: MetricsServer | null;
  draining: boolean;
}

function sinkOptions(config: Config, say: (line: string) => void) {
  return { viaParent: config.upstream !== null, say };
}

/** Head limits node fixes per connection when it accepts it (http-server.ts applyServerOptions). */
const PER_CONNECTION_KEYS: ReadonlySet<string> = new Set([
  'limits.max_header_bytes',
  'limits.max_header_count',
]);

/**
 * What a reload applied, for its stderr line: every changed key (each one is applied; none needs a restart), and
 * when the head limits are among them, that they hold for connections accepted from now on.
 */
function describeChanges(before: Config, after: Config): string {
  const keys = changedConfigKeys(before, after);
  if (keys.length === 0) return '(nothing changed)';
  const perConnection = keys.some((k) => PER_CONNECTION_KEYS.has(k));
  return `(applied: ${keys.join(', ')}${perConnection ? '; head limits hold for connections accepted from now on' : ''})`;
}

/** Runs the daemon; resolves with the exit code once drained (0) or when it cannot start (3). */
export async function serve(options: ServeOptions): Promise<number> {
  const { say } = options;
  const metrics = new ProxyMetrics();
  const sockets = new ClientSockets();
  const instance = createProxyInstance();
  metrics.setActiveSources({
    connections: () => sockets.size,
    tunnels: () => instance.tunnels.openCount(),
    retries: () => instance.origins.retries,
  });
  const stopWatching = watchUpstreamConnects(metrics);

  let forceDrain: () => void = () => {};
  const forced = new Promise<void>((resolve) => {
    forceDrain = resolve;
  });
  let drained: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    drained = resolve;
  });
  let reopenRequested = false;
  let reloadRequested = false;
  // Handlers first: a signal that arrives while binding must not kill the process with the default action.
  let actions = {
    reload: async () => {
      reloadRequested = true;
    },
    drain: async (signal: NodeJS.Signals) => drained(signal),
    force: () => forceDrain(),
    reopenLog: () => {
      reopenRequested = true;
    },
  };
  const uninstall = installSignalHandlers({
    reload: () => actions.reload(),
    drain: (s) => actions.drain(s),
    force: () => actions.force(),
    reopenLog: () => actions.reopenLog(),
  });

  // The identity map is followed for as long as `identity.map_file` names the same file.
  let identitySource: IdentitySource | null = null;
  // Per-instance sockets (identity.socket_dir) follow the map; set once the server runs.
  let syncInstanceSockets: () => void = () => {};
  const followIdentity = (file: string | null): void => {
    if (identitySource?.file === (file ?? undefined)) return;
    identitySource?.close();
    identitySource = file === null ? null : followIdentityMap(file, say, () => syncInstanceSockets());
  };
  const identity = (): IdentityMap => identitySource?.current() ?? EMPTY_IDENTITY;
  followIdentity(options.prepared.config.identity.map_file);

  let state: State;
  let server: ProxyServer;
  // The same server once it runs, for /healthz (the metrics listener answers before the proxy listeners bind).
  let proxyServer: ProxyServer | null = null;
  // Descriptor exhaustion: counted against RLIMIT_NOFILE once the server runs (descriptor-guard.ts).
  let stopGuard: () => void = () => {};
  try {
    const sink = await createAccessSink(
      options.prepared.config.log,
      metrics,
      sinkOptions(options.prepared.config, say),
    );
    state = { config: options.prepared.config, sink, metricsServer: null, draining: false };
  } catch (err) {
    say(`cannot open the access log ${options.prepared.config.log.file}: ${(err as Error).message}`);
    uninstall();
    stopWatching();
    sockets.stop();
    followIdentity(null);
    return EXIT_RUNTIME;
  }
  const record = (entry: AccessRecord): void => state.sink.record(entry);
  const startMetrics = (listen: string | null): Promise<MetricsServer | null> => {
    if (listen === null) return Promise.resolve(null);
    metrics.startProcessMetrics();
    return startMetricsServer({
      listen,
      metrics,
      say,
      onServer: (s) => sockets.ignore(s),
      endpoints: instance.endpoints,
      health: () => {
        if (state.draining) return 'draining';
        if (proxyServer === null) return 'starting';
        const unbound = proxyServer.unbound();
        return unbound.length === 0 ? null : unbound.join('; ');
      },
    });
  };
  const initialContext = buildContext(options.prepared, record, instance, metrics, identity);
  // The context being served (a reload replaces it and retires its origin pool).
  let current = initialContext;
  try {
    state.metricsServer = await startMetrics(state.config.metrics.listen);
    server = await startProxyServer({
      context: initialContext,
      say,
    });
    proxyServer = server;
    const running = server;
    const guard = startDescriptorGuard({
      say,
      apply: (accepting, budget, recount) => running.setDescriptors(accepting, budget, recount),
      refused: () => running.refused,
    });
    stopGuard = () => guard.stop();
    metrics.setActiveSources({
      accepting: () => !guard.paused,
      refusedDescriptors: () => running.refused,
    });
    await server.setInstanceSockets(state.config.identity.socket_dir, identity().sockets);
    syncInstanceSockets = () =>
      void server.setInstanceSockets(state.config.identity.socket_dir, identity().sockets);
  } catch (err) {
    say(`cannot start: ${(err as Error).message}`);
    stopGuard();
    await state.metricsServer?.close();
    await state.sink.close();
    uninstall();
    stopWatching();
    sockets.stop();
    followIdentity(null);
    return EXIT_RUNTIME;
  }

  const reload = async (): Promise<void> => {
    if (state.draining) return;
    const candidate = await loadReloadCandidate(options.file);
    if (!candidate.ok) {
      metrics.observeReload(false);
      say(`reload failed, keeping the running config:\n${candidate.message}`);
      return;
    }
    const next = candidate.prepared.config;
    const old = state;
    let context: ProxyContext | null = null;
    try {
      // Everything that can fail is prepared first; the swap itself cannot fail.
      context = buildContext(candidate.prepared, record, instance, metrics, identity);
      const logChanged =
        next.log.file !== old.config.log.file ||
        next.log.format !== old.config.log.format ||
        (next.upstream === null) !== (old.config.upstream === null);
      const sink = logChanged ? await createAccessSink(next.log, metrics, sinkOptions(next, say)) : old.sink;
      const metricsMoved = next.metrics.listen !== old.config.metrics.listen;
      let metricsServer = old.metricsServer;
      try {
        // The new metrics listener is bound before the old one is released: a failure leaves the old one up.
        if (metricsMoved) metricsServer = await startMetrics(next.metrics.listen);
        if (!sameEntries(next.listen, old.config.listen)) await server.setListen(next.listen);
      } catch (err) {
        if (metricsServer !== old.metricsServer) await metricsServer?.close();
        if (sink !== old.sink) await sink.close();
        throw err;
      }
      state = { ...old, config: next, sink, metricsServer };
      followIdentity(next.identity.map_file);
      const replaced = current;
      server.setContext(context);
      current = context;
      // In-flight requests finish on the old pool; its idle connections close now, its busy ones when they end.
      instance.origins.retire(replaced.origins);
      syncInstanceSockets();
      if (metricsMoved) await old.metricsServer?.close();
      if (sink !== old.sink) await old.sink.close();
      metrics.observeReload(true);
      say(`reloaded ${options.file} ${describeChanges(old.config, next)}`);
    } catch (err) {
      // Not swapped in: its pool (still empty) goes.
      if (context !== null && current !== context) instance.origins.retire(context.origins);
      metrics.observeReload(false);
      say(`reload failed, keeping the running config: ${(err as Error).message}`);
    }
  };
  actions = {
    ...actions,
    reload,
    reopenLog: () => {
      state.sink.reopen();
      say('access log reopened');
    },
  };
  if (reopenRequested) actions.reopenLog();
  if (reloadRequested) await reload();

  const signal = await stopSignal;
  state.draining = true;
  await drainConnections({
    signal,
    stopAccepting: () => server.close(),
    sockets,
    tunnels: instance.tunnels,
    drainMs: state.config.timeouts.drain_ms,
    say,
    forced,
  });
  stopGuard();
  instance.origins.close();
  await state.metricsServer?.close();
  await state.sink.close();
  uninstall();
  stopWatching();
  sockets.stop();
  followIdentity(null);
  say('stopped');
  return EXIT_OK;
}
