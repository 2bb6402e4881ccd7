/**
 * Access-log lines are written in batches (128 KiB or 50 ms): nothing queued may be lost when the process stops
 * right after a burst, when the reader of a stdout pipe falls behind, or when SIGUSR1 arrives with lines still
 * queued (they belong to the renamed file).
 */

import { existsSync, renameSync } from 'node:fs';
import * as http from 'node:http';
import { type Origin, type ProxyProcess, startOrigin, startProxy, waitFor } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFileOf, httpGet, linesOf, metricsPortOf } from './ops-support.js';

/** cuttle_requests_total over every label set. */
function requestsTotal(metrics: string): number {
  let n = 0;
  for (const line of metrics.split('\n'))
    if (line.startsWith('cuttle_requests_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** `n` GETs through the proxy, `concurrency` at a time on kept-alive connections; resolves with their statuses. */
async function burst(proxyPort: number, url: string, n: number, concurrency: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const one = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: proxyPort, path: `${url}${i}`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
  const statuses = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  agent.destroy();
  return statuses;
}

describe('access log batching', () => {
  let origin: Origin;

  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });

  const start = (): Promise<ProxyProcess> =>
    startProxy({
      ports: [origin.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      metrics: { listen: '127.0.0.1:0' },
    });

  it('writes every line of a burst when stopped at once after it', async () => {
    const proxy = await start();
    const file = accessFileOf(proxy);
    const statuses = await burst(proxy.port, `http://origin.test:${origin.port}/b/`, 300, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await proxy.stop()).toBe(0);
    const paths = linesOf(file).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).toHaveLength(300);
    expect(new Set(paths).size).toBe(300);
    await proxy.close();
  });

  it('writes every line to stdout through a pipe the reader left full for a while', async () => {
    const proxy = await startProxy({
      ports: [origin.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      log: { file: 'stdout', format: 'json' },
    });
    // 600 lines of ~400 bytes are more than a pipe holds (64 KiB): the writes wait for the reader (a write that
    // blocks on the thread pool, or EAGAIN on a non-blocking pipe and a retry).
    proxy.child.stdout?.pause();
    const statuses = await burst(proxy.port, `http://origin.test:${origin.port}/p/`, 600, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    proxy.child.stdout?.resume();
    expect(await proxy.stop()).toBe(0);
    const paths = proxy
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).toHaveLength(600);
    expect(new Set(paths).size).toBe(600);
    await proxy.close();
  });

  it('puts lines still queued at SIGUSR1 into the renamed file, later ones into the new file', async () => {
    const proxy = await start();
    const file = accessFileOf(proxy);
    const rotated = `${file}.1`;
    expect(
      (await burst(proxy.port, `http://origin.test:${origin.port}/old/`, 50, 10)).every((s) => s === 200),
    ).toBe(true);
    // Every request of the burst recorded (a client can see its response end before the proxy records it), so
    // the 50 lines are made before the signal and, within the batch tick, most still queued when it comes.
    const metricsPort = await metricsPortOf(proxy);
    await waitFor(
      'the burst recorded',
      async () => requestsTotal((await httpGet(metricsPort, '/metrics')).body),
      (n) => n === 50,
    );
    renameSync(file, rotated);
    proxy.child.kill('SIGUSR1');
    await proxy.waitForStderr(/access log reopened/);
    expect(
      (await burst(proxy.port, `http://origin.test:${origin.port}/new/`, 5, 5)).every((s) => s === 200),
    ).toBe(true);
    expect(await proxy.stop()).toBe(0);
    const old = linesOf(rotated).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(old).toHaveLength(50);
    expect(old.every((p) => p.startsWith('/old/'))).toBe(true);
    expect(existsSync(file)).toBe(true);
    const fresh = linesOf(file).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(fresh).toHaveLength(5);
    expect(fresh.every((p) => p.startsWith('/new/'))).toBe(true);
    await proxy.close();
  });
});
