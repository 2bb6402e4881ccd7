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
    const start = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - start) / 1e9;
    const onConnect = (): void => {
      socket.off('error', onError);
      metrics.observeUpstreamConnect(seconds(), true);
    };
    const onError = (): void => {
      socket.off('connect', onConnect);
      metrics.observeUpstreamConnect(seconds(), false);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  return () => diagnostics.unsubscribe('net.client.socket', onSocket);
}
