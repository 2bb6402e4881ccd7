/**
 * Descriptor exhaustion against a real daemon under `prlimit --nofile`: near RLIMIT_NOFILE the proxy listeners stop
 * taking connections, stderr says so (once, rate-limited), /metrics stays reachable and shows it, and once
 * connections close the proxy takes them again without a restart.
 */
import * as net from 'node:net';
import {
  type Origin,
  type ProxyProcess,
  proxyGet,
  skipUnless,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descriptorThresholds, readNofileLimit, shouldPause } from '../src/lifecycle/descriptor-guard.js';
import { httpGet, metricsPortOf, sample } from './ops-support.js';

const LIMIT = 200;

describe('descriptor thresholds', () => {
  it.each([
    [200, 168, 136],
    [1024, 922, 820],
    [65_536, 64_512, 63_488],
  ])('limit %i: pause at %i, resume below %i', (limit, pauseAt, resumeBelow) => {
    expect(descriptorThresholds(limit)).toEqual({ limit, pauseAt, resumeBelow });
  });

  it('pauses at the high mark and resumes only below the low one', () => {
    const t = descriptorThresholds(200);
    expect(shouldPause(167, t, false)).toBe(false);
    expect(shouldPause(168, t, false)).toBe(true);
    expect(shouldPause(140, t, true)).toBe(true);
    expect(shouldPause(135, t, true)).toBe(false);
  });

  it('reads the soft limit from /proc/self/limits text', () => {
    const text =
      'Max cpu time              unlimited            unlimited            seconds\nMax open files            1024                 4096                 files\n';
    expect(readNofileLimit(text)).toBe(1024);
    expect(
      readNofileLimit('Max open files            unlimited            unlimited            files\n'),
    ).toBeNull();
  });
});

describe.skipIf(skipUnless({ commands: ['prlimit'] }))('a daemon near RLIMIT_NOFILE', () => {
  let origin: Origin;
  let proxy: ProxyProcess;
  let metricsPort: number;
  const held: net.Socket[] = [];

  const open = (): Promise<net.Socket | null> =>
    new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: proxy.port });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy(
      {
        ports: [origin.port],
        allow: ['origin.test'],
        dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        metrics: { listen: '127.0.0.1:0' },
        timeouts: { header_ms: 120_000 },
        limits: { max_connections: 10_000, max_connections_per_client: 10_000 },
      },
      { wrapper: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`] },
    );
    metricsPort = await metricsPortOf(proxy);
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    await proxy?.close();
    await origin?.close();
  });

  it('stops accepting near the limit, says so once, and keeps /metrics up', async () => {
    // Far more idle connections than the limit allows: without the guard the daemon runs out of descriptors.
    for (let i = 0; i < LIMIT + 50; i++) {
      const s = await open();
      if (s !== null) {
        s.on('error', () => {});
        held.push(s);
      }
    }
    await proxy.waitForStderr(/file descriptors: \d+ of 200 open \(RLIMIT_NOFILE\): not accepting/);
    const metrics = await httpGet(metricsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(sample(metrics.body, 'cuttle_accepting')).toBe(0);
    expect(sample(metrics.body, 'cuttle_connections_refused_descriptors_total')).toBeGreaterThan(0);
    expect(proxy.stderr().match(/not accepting proxy connections until/g)).toHaveLength(1);
    // A request now is turned away at once (closed unanswered), not left hanging.
    const r = await proxyGet(proxy.port, `http://origin.test:${origin.port}/paused`);
    expect(r.status).toBe(0);
    expect(r.closed).toBe(true);
  });

  it('accepts again once connections close, without a restart', async () => {
    for (const s of held.splice(0)) s.destroy();
    await proxy.waitForStderr(/accepting proxy connections again \(\d+ refused meanwhile\)/);
    const r = await proxyGet(proxy.port, `http://origin.test:${origin.port}/after`);
    expect(r.status).toBe(200);
    const metrics = await httpGet(metricsPort, '/metrics');
    expect(sample(metrics.body, 'cuttle_accepting')).toBe(1);
    expect(proxy.child.exitCode).toBeNull();
  });
});
