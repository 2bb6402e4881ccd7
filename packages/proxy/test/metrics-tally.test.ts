/**
 * The per-request metric updates are tallied and merged into prom-client at scrape time (src/metrics/tally.ts): the
 * exposition must say exactly what prom-client's own per-call `inc`/`observe` would have said, scrape after scrape.
 */
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { newAccessRecord } from '../src/core/access-record.js';
import type { AccessRecord } from '../src/core/context.js';
import { ProxyMetrics } from '../src/metrics/index.js';

const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const TUNNEL_BUCKETS = [0.1, 1, 5, 15, 60, 300, 900, 3600, 14_400];
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client fed call by call, as the metrics were before the tallies. */
function reference() {
  const registry = new client.Registry();
  const registers = [registry];
  const requests = new client.Counter({
    name: 'cuttle_requests_total',
    help: 'x',
    labelNames: ['method', 'verdict', 'reason'],
    registers,
  });
  const duration = new client.Histogram({
    name: 'cuttle_request_duration_seconds',
    help: 'x',
    labelNames: ['verdict'],
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const tunnel = new client.Histogram({
    name: 'cuttle_tunnel_duration_seconds',
    help: 'x',
    labelNames: ['close_reason'],
    buckets: TUNNEL_BUCKETS,
    registers,
  });
  const bytes = new client.Counter({
    name: 'cuttle_bytes_total',
    help: 'x',
    labelNames: ['direction', 'kind'],
    registers,
  });
  const dns = new client.Histogram({
    name: 'cuttle_dns_lookup_duration_seconds',
    help: 'x',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  return {
    registry,
    record(e: AccessRecord) {
      const method = ['GET', 'CONNECT', 'POST'].includes(e.method)
        ? e.method
        : e.method === '-'
          ? 'none'
          : 'other';
      requests.inc({ method, verdict: e.verdict, reason: e.reason });
      const kind = e.method === 'CONNECT' ? 'connect' : 'http';
      if (e.method === 'CONNECT')
        tunnel.observe({ close_reason: e.closeReason ?? 'none' }, e.durationMs / 1000);
      else if (e.method !== '-') duration.observe({ verdict: e.verdict }, e.durationMs / 1000);
      if (e.bytesUp > 0) bytes.inc({ direction: 'up', kind }, e.bytesUp);
      if (e.bytesDown > 0) bytes.inc({ direction: 'down', kind }, e.bytesDown);
    },
    dns(seconds: number, result: string) {
      dns.observe({ result }, seconds);
    },
  };
}

/** The sample lines of the named families, values parsed (sums compared to 9 digits, the rest exactly). */
function samples(text: string, families: readonly string[]): [string, number][] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#') && families.some((f) => l.startsWith(f)))
    .map((l) => {
      const i = l.lastIndexOf(' ');
      const v = Number(l.slice(i + 1));
      return [l.slice(0, i), l.slice(0, i).includes('_sum') ? Math.round(v * 1e9) / 1e9 : v];
    });
}

const FAMILIES = [
  'cuttle_requests_total',
  'cuttle_request_duration_seconds',
  'cuttle_tunnel_duration_seconds',
  'cuttle_bytes_total',
  'cuttle_dns_lookup_duration_seconds',
];

function rec(
  method: string,
  verdict: AccessRecord['verdict'],
  reason: AccessRecord['reason'],
  durationMs: number,
  more: Partial<AccessRecord> = {},
): AccessRecord {
  return { ...newAccessRecord('::1', method, reason, 200), verdict, durationMs, ...more };
}

describe('metrics tallies', () => {
  it('expose what per-call updates expose, over several scrapes, bucket edges and +Inf included', async () => {
    const m = new ProxyMetrics();
    const ref = reference();
    const batches: AccessRecord[][] = [
      [
        rec('GET', 'allow', 'allowlisted', 5, { bytesDown: 1024 }),
        rec('GET', 'deny', 'not_allowlisted', 0),
        rec('CONNECT', 'allow', 'allowlisted', 1000, {
          closeReason: 'client_end',
          bytesUp: 10,
          bytesDown: 20,
        }),
        rec('GET', 'allow', 'allowlisted', 300_000, { bytesDown: 1 }),
      ],
      [],
      [
        rec('POST', 'error', 'upstream_refused', 301_000, { bytesUp: 7 }),
        rec('GET', 'allow', 'allowlisted', 12),
        rec('-', 'error', 'bad_request', 3),
        rec('CONNECT', 'deny', 'not_allowlisted', 0, { closeReason: 'error' }),
        rec('GET', 'would_deny', 'not_allowlisted', 2500),
      ],
    ];
    for (const [i, batch] of batches.entries()) {
      for (const e of batch) {
        m.observeRecord(e);
        ref.record(e);
      }
      m.observeDnsLookup(0.001 * i, 'ok');
      ref.dns(0.001 * i, 'ok');
      if (i === 2) {
        m.observeDnsLookup(20, 'dns_timeout');
        ref.dns(20, 'dns_timeout');
      }
      const ours = samples(await m.registry.metrics(), FAMILIES);
      expect(ours).toEqual(samples(await ref.registry.metrics(), FAMILIES));
      expect(ours.length).toBeGreaterThan(0);
    }
  });
});
