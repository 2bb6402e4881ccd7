/**
 * The metrics listener: `GET /metrics` (Prometheus text) and `GET /healthz`, on `metrics.listen` only, never on a
 * proxy listener. It is bound like a proxy listener (fixed address, or an interface polled for its address) but
 * announces itself as `metrics on ADDRESS` so nothing mistakes it for a proxy endpoint.
 */
import * as http from 'node:http';
import { parseListenAddress } from '@cuttle/shared';
import type { SelfEndpoints } from '../core/self-endpoints.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import { Listener } from './listener.js';

export interface MetricsServerOptions {
  /** The `metrics.listen` entry. */
  readonly listen: string;
  readonly metrics: ProxyMetrics;
  /** The proxy's own messages (stderr). */
  readonly say: (line: string) => void;
  /** Called with each http.Server made (the connection tracker leaves them out of the proxy's counts). */
  readonly onServer?: (server: http.Server) => void;
  /**
   * Null when healthy; else why not (draining, a proxy listener not bound): /healthz then answers 503 with the
   * reason, so a load balancer stops sending.
   */
  readonly health?: () => string | null;
  /** Where the bound address is registered, so the proxy never serves its own metrics (`self_loop`). */
  readonly endpoints?: SelfEndpoints | undefined;
}

/** A running metrics listener. */
export interface MetricsServer {
  readonly listen: string;
  close(): Promise<void>;
}

function handle(options: MetricsServerOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    const why = options.health?.() ?? null;
    res.writeHead(why === null ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${why ?? 'ok'}\n`);
    return;
  }
  if (path === '/metrics') {
    options.metrics.text().then(
      (text) => res.writeHead(200, { 'Content-Type': options.metrics.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
    );
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
}

/** Binds `options.listen` and serves. Rejects if a fixed address cannot be bound. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const listener = new Listener({
    spec: parseListenAddress(options.listen),
    endpoints: options.endpoints,
    say: (line) =>
      options.say(line.startsWith('listening on ') ? `metrics on ${line.slice(13)}` : `metrics: ${line}`),
    createServer: () => {
      const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => handle(options, req, res));
      options.onServer?.(server);
      return server;
    },
  });
  await listener.start();
  return { listen: options.listen, close: () => listener.close() };
}
