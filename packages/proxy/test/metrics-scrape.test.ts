/**
 * Metrics from a real daemon: traffic of known shape, then a scrape of its metrics listener. The counts must match
 * what was sent, the text must pass `promtool check metrics`, hostnames never become labels, and the proxy
 * listener does not serve /metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  type Origin,
  type ProxyProcess,
  proxyGet,
  sendRaw,
  skipUnless,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  exchange,
  httpGet,
  metricsPortOf,
  openTunnel,
  patchConfig,
  sample,
  startEcho,
} from './ops-support.js';

describe('metrics: scrape after known traffic', () => {
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let refused: number;
  let proxy: ProxyProcess;
  let metricsPort: number;
  const scrape = async (): Promise<string> => {
    const res = await httpGet(metricsPort, '/metrics');
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    origin = await startOrigin();
    echo = await startEcho();
    refused = await closedPort();
    proxy = await startProxy({
      ports: [origin.port, refused],
      connect_ports: [echo.port],
      allow: ['origin.test', 'closed.test', 'tunnel.test'],
      dns: {
        hosts: { 'origin.test': ['127.0.0.1'], 'closed.test': ['127.0.0.1'], 'tunnel.test': ['127.0.0.1'] },
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      metrics: { listen: '127.0.0.1:0' },
    });
    metricsPort = await metricsPortOf(proxy);
    for (let i = 0; i < 3; i++)
      expect((await proxyGet(proxy.port, `http://origin.test:${origin.port}/m${i}`)).status).toBe(200);
    for (let i = 0; i < 2; i++)
      expect((await proxyGet(proxy.port, `http://denied${i}.test:${origin.port}/`)).status).toBe(403);
    expect((await proxyGet(proxy.port, `http://closed.test:${refused}/`)).status).toBe(502);
    const { socket } = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    await exchange(socket, 'hello');
    socket.end();
    await new Promise((r) => socket.once('close', r));
    for (let i = 0; i < 100 && proxy.accessLog().length < 7; i++) await new Promise((r) => setTimeout(r, 50));
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await echo?.close();
  });

  it('counts requests by method, verdict and reason', async () => {
    const text = await scrape();
    const requests = (method: string, verdict: string, reason: string) =>
      sample(text, 'cuttle_requests_total', { method, verdict, reason });
    expect(requests('GET', 'allow', 'allowlisted')).toBe(3);
    expect(requests('GET', 'deny', 'not_allowlisted')).toBe(2);
    expect(requests('GET', 'error', 'upstream_refused')).toBe(1);
    expect(requests('CONNECT', 'allow', 'allowlisted')).toBe(1);
    expect(sample(text, 'cuttle_request_duration_seconds_count', { verdict: 'allow' })).toBe(3);
    expect(sample(text, 'cuttle_tunnel_duration_seconds_count', { close_reason: 'client_end' })).toBe(1);
  });

  it('counts bytes by direction and kind', async () => {
    const text = await scrape();
    const body = (i: number) => Buffer.byteLength(`origin saw GET /m${i}\n`);
    expect(sample(text, 'cuttle_bytes_total', { direction: 'down', kind: 'http' })).toBe(
      body(0) + body(1) + body(2),
    );
    expect(sample(text, 'cuttle_bytes_total', { direction: 'up', kind: 'connect' })).toBe(5);
    expect(sample(text, 'cuttle_bytes_total', { direction: 'down', kind: 'connect' })).toBe(5);
  });

  it('times DNS lookups and upstream connects', async () => {
    const text = await scrape();
    // Three allowed GETs, the refused one and the tunnel resolved their names; the two denies never did.
    expect(sample(text, 'cuttle_dns_lookup_duration_seconds_count', { result: 'ok' })).toBe(5);
    expect(
      sample(text, 'cuttle_upstream_connect_duration_seconds_count', { result: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'cuttle_upstream_connect_duration_seconds_count', { result: 'error' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('shows open tunnels and connections while they are open', async () => {
    const { socket } = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    await exchange(socket, 'x');
    const open = await scrape();
    expect(sample(open, 'cuttle_active_tunnels')).toBe(1);
    expect(sample(open, 'cuttle_active_connections')).toBe(1);
    socket.end();
    await new Promise((r) => socket.once('close', r));
    await expect.poll(async () => sample(await scrape(), 'cuttle_active_tunnels')).toBe(0);
    expect(sample(await scrape(), 'cuttle_active_connections')).toBe(0);
  });

  it('has zero series for reloads, drops and SNI mismatches, and default process metrics', async () => {
    const text = await scrape();
    expect(sample(text, 'cuttle_config_reloads_total', { result: 'ok' })).toBe(0);
    expect(sample(text, 'cuttle_config_reloads_total', { result: 'error' })).toBe(0);
    expect(sample(text, 'cuttle_connections_dropped_total', { action: 'reject' })).toBe(0);
    expect(sample(text, 'cuttle_sni_mismatches_total')).toBe(0);
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0);
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
  });

  it('never uses a hostname as a label value', async () => {
    const text = await scrape();
    expect(text).not.toContain('.test');
  });

  it('answers /healthz and 404 elsewhere on the metrics listener', async () => {
    expect(await httpGet(metricsPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await httpGet(metricsPort, '/')).status).toBe(404);
  });

  it('does not serve /metrics on the proxy listener', async () => {
    const res = await sendRaw(
      proxy.port,
      'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('cuttle_requests_total');
  });

  it.skipIf(skipUnless({ commands: ['promtool'] }))('passes promtool check metrics', async () => {
    const text = await scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('metrics: SNI mismatches and connections dropped by limits', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: ProxyProcess;
  let metricsPort: number;

  beforeAll(async () => {
    echo = await startEcho();
    proxy = await startProxy({
      connect_ports: [echo.port],
      allow: ['tunnel.test'],
      dns: { hosts: { 'tunnel.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      limits: { max_connections_per_client: 1 },
      metrics: { listen: '127.0.0.1:0' },
    });
    metricsPort = await metricsPortOf(proxy);
  });
  afterAll(async () => {
    await proxy?.close();
    await echo?.close();
  });

  it('counts a tunnel closed for a missing SNI', async () => {
    const { socket, status } = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    expect(status).toBe(200);
    socket.on('error', () => {});
    socket.write('not a ClientHello at all, just text\r\n\r\n');
    await new Promise((r) => socket.once('close', r));
    await expect
      .poll(async () => sample((await httpGet(metricsPort, '/metrics')).body, 'cuttle_sni_mismatches_total'))
      .toBe(1);
  });

  it('counts a connection turned away by the per-client limit', async () => {
    const held = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    expect(held.status).toBe(200);
    const res = await sendRaw(proxy.port, 'GET http://tunnel.test/ HTTP/1.1\r\nHost: tunnel.test\r\n\r\n');
    expect(res.status).toBe(503);
    held.socket.destroy();
    const text = (await httpGet(metricsPort, '/metrics')).body;
    expect(sample(text, 'cuttle_connections_dropped_total', { action: 'reject' })).toBe(1);
    expect(
      sample(text, 'cuttle_requests_total', { method: 'none', verdict: 'deny', reason: 'limit_exceeded' }),
    ).toBe(1);
  });
});

describe('metrics: process metrics only with a metrics listener', () => {
  let proxy: ProxyProcess;
  /** Voluntary context switches of the daemon's main thread so far (/proc/PID/status is the leader's own). */
  const wakeups = (): number => {
    const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(
      readFileSync(`/proc/${proxy.child.pid}/status`, 'utf8'),
    );
    if (m === null) throw new Error('no voluntary_ctxt_switches in /proc/PID/status');
    return Number(m[1]);
  };

  beforeAll(async () => {
    proxy = await startProxy({ allow: ['origin.test'], metrics: { listen: null } });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('an idle daemon with metrics off does not wake every 10 ms (prom-client event-loop monitor)', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const before = wakeups();
    await new Promise((r) => setTimeout(r, 1000));
    // With the monitor running, the main thread wakes ~100 times a second; idle without it, a handful.
    expect(wakeups() - before).toBeLessThan(30);
  });

  it('a reload that turns metrics on serves the process and Node metrics too', async () => {
    patchConfig(proxy, { metrics: { listen: '127.0.0.1:0' } });
    proxy.child.kill('SIGHUP');
    const m = await proxy.waitForStderr(/metrics on 127\.0\.0\.1:(\d+)/);
    const text = (await httpGet(Number(m[1]), '/metrics')).body;
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    expect(sample(text, 'cuttle_config_reloads_total', { result: 'ok' })).toBe(1);
  });
});
