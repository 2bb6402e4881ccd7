/**
 * Reload on SIGHUP against a real daemon: a client loop running through several reloads loses no request, the new
 * policy answers afterwards, a broken file is refused with file:line and the old policy keeps answering, an open
 * tunnel outlives a reload that would now deny it, and listener changes are applied.
 */
import { writeFileSync } from 'node:fs';
import {
  type Origin,
  type ProxyProcess,
  proxyGet,
  sendRaw,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessFileOf,
  exchange,
  httpGet,
  linesOf,
  metricsPortOf,
  openTunnel,
  patchConfig,
  readConfig,
  sample,
  startEcho,
} from './ops-support.js';

describe('reload on SIGHUP', () => {
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: ProxyProcess;
  let metricsPort: number;
  let reloads = 0;
  let original: Record<string, unknown>;

  const BASE_ALLOW = ['origin.test', 'tunnel.test'];

  /** Sends SIGHUP and waits for the daemon to say how it went. */
  async function reload(expectOk = true): Promise<void> {
    const n = (proxy.stderr().match(/reloaded |reload failed/g) ?? []).length;
    proxy.child.kill('SIGHUP');
    const re = new RegExp(`(?:(?:reloaded |reload failed)[\\s\\S]*){${n + 1}}`);
    await proxy.waitForStderr(re);
    reloads++;
    const last = proxy
      .stderr()
      .match(/reloaded |reload failed/g)
      ?.at(-1);
    expect(last).toBe(expectOk ? 'reloaded ' : 'reload failed');
  }

  const get = (host: string) => proxyGet(proxy.port, `http://${host}:${origin.port}/r`);

  beforeAll(async () => {
    origin = await startOrigin();
    echo = await startEcho();
    proxy = await startProxy({
      ports: [origin.port],
      connect_ports: [echo.port],
      allow: BASE_ALLOW,
      dns: {
        hosts: { 'origin.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'], 'tunnel.test': ['127.0.0.1'] },
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      metrics: { listen: '127.0.0.1:0' },
    });
    metricsPort = await metricsPortOf(proxy);
    original = readConfig(proxy);
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await echo?.close();
  });

  it('loses no request of a client loop running through reloads, then answers with the new policy', async () => {
    expect((await get('other.test')).status).toBe(403);
    const statuses: number[] = [];
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) statuses.push((await get('origin.test')).status);
    };
    const workers = [worker(), worker(), worker()];
    for (let i = 0; i < 4; i++) {
      patchConfig(proxy, { allow: i % 2 === 0 ? [...BASE_ALLOW, 'other.test'] : BASE_ALLOW });
      await reload();
    }
    patchConfig(proxy, { allow: [...BASE_ALLOW, 'other.test'] });
    await reload();
    // Keep the loop going a little past the last reload (bounded by request count, not time).
    const target = statuses.length + 30;
    while (statuses.length < target) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await Promise.all(workers);
    expect(statuses.length).toBeGreaterThan(30);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await get('other.test')).status).toBe(200);
  }, 60_000);

  it('refuses a broken file with file:line:col and keeps answering with the old policy', async () => {
    writeFileSync(proxy.configFile, 'listen: ["127.0.0.1:0"]\nallow: [origin.test\nports: 80\n');
    await reload(false);
    expect(proxy.stderr()).toMatch(/reload failed, keeping the running config:\n\S*cuttle\.yaml:\d+:\d+: /);
    expect((await get('other.test')).status).toBe(200);
    expect((await get('nope.test')).status).toBe(403);
    // Valid YAML, invalid config: refused too, with the key.
    writeFileSync(proxy.configFile, 'listen: ["127.0.0.1:0"]\ntimeouts: {drain_ms: -1}\n');
    await reload(false);
    expect(proxy.stderr()).toMatch(/cuttle\.yaml:2:\d+: timeouts\.drain_ms: /);
    expect((await get('other.test')).status).toBe(200);
    const text = (await httpGet(metricsPort, '/metrics')).body;
    expect(sample(text, 'cuttle_config_reloads_total', { result: 'error' })).toBe(2);
    expect(sample(text, 'cuttle_config_reloads_total', { result: 'ok' })).toBe(reloads - 2);
    expect(sample(text, 'cuttle_config_last_reload_successful')).toBe(0);
  });

  it('keeps an open tunnel open when the new policy would deny it', async () => {
    writeFileSync(proxy.configFile, JSON.stringify(original));
    await reload();
    const { socket, status } = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    expect(status).toBe(200);
    expect(await exchange(socket, 'before')).toBe('before');
    patchConfig(proxy, { allow: ['origin.test'] });
    await reload();
    expect(await exchange(socket, 'after')).toBe('after');
    const again = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
    expect(again.status).toBe(403);
    again.socket.destroy();
    socket.end();
    await new Promise((r) => socket.once('close', r));
  });

  it('binds a listen entry added by a reload and releases one removed', async () => {
    const listen = readConfig(proxy).listen as string[];
    patchConfig(proxy, { listen: [...listen, '[::1]:0'], allow: BASE_ALLOW });
    await reload();
    const m = await proxy.waitForStderr(/listening on \[::1\]:(\d+)/);
    const v6Port = Number(m[1]);
    const viaV6 = await sendRaw(
      v6Port,
      `GET http://origin.test:${origin.port}/v6 HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`,
      { host: '::1' },
    );
    expect(viaV6.status).toBe(200);
    patchConfig(proxy, { listen });
    await reload();
    await expect(sendRaw(v6Port, 'GET / HTTP/1.1\r\n\r\n', { host: '::1' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect((await get('origin.test')).status).toBe(200);
  });
  it('moves the metrics listener and switches the log format', async () => {
    const file = accessFileOf(proxy);
    patchConfig(proxy, { metrics: { listen: '[::1]:0' }, log: { file, format: 'squid' } });
    await reload();
    const m = await proxy.waitForStderr(/metrics on \[::1\]:(\d+)/);
    const scraped = await httpGet(Number(m[1]), '/metrics', '::1');
    expect(scraped.status).toBe(200);
    expect(sample(scraped.body, 'cuttle_config_reloads_total', { result: 'ok' })).toBeGreaterThan(0);
    await expect(httpGet(metricsPort, '/metrics')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const before = linesOf(file).length;
    expect((await get('origin.test')).status).toBe(200);
    await expect.poll(() => linesOf(file).length).toBe(before + 1);
    expect(linesOf(file).at(-1)).toMatch(
      /^\d+\.\d{3} +\d+ 127\.0\.0\.1 TCP_MISS\/200 \d+ GET http:\/\/origin\.test:\d+\/r - HIER_DIRECT\/127\.0\.0\.1 text\/plain$/,
    );
    expect(linesOf(file).at(-2)).toMatch(/^\{"time":/);
  });
});
