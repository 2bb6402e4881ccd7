/**
 * Upstream-connect latency without touching the traffic paths: node publishes every client socket it creates on
 * the `net.client.socket` diagnostics channel. In the daemon the only client sockets are connections to origins
 * and parents, so the time from creation to `connect` (or the first error) is the upstream-connect latency.
 */
import * as diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { ProxyMetrics } from './proxy-metrics.js';

/** Starts timing every new client socket into `metrics`; returns the function that stops it. */
export function watchUpstreamConnects(metrics: ProxyMetrics): () => void {
  const onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (socket === undefined) return;
    // `performance.now()`, not a `process.hrtime.bigint()` pair, and `on` + `off`, not two `once` wrappers: this
    // runs for every upstream socket (one per tunnel set-up).
    const start = performance.now();
    const onConnect = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      metrics.observeUpstreamConnect((performance.now() - start) / 1e3, true);
    };
    const onError = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      metrics.observeUpstreamConnect((performance.now() - start) / 1e3, false);
    };
    socket.on('connect', onConnect);
    socket.on('error', onError);
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  return () => diagnostics.unsubscribe('net.client.socket', onSocket);
}
