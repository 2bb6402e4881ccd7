/**
 * Origins that misbehave on purpose, on raw sockets: an unsolicited `101 Switching Protocols` or an unknown 1xx
 * (issue 16 item 1: a 502 `bad_response` at once, never a client left waiting), and an origin that closes a pooled
 * keep-alive connection just as cuttle reuses it (issue 16 item 5: one retry on a fresh connection for an idempotent
 * request that got no response byte, logged and counted; a POST is not retried).
 */
import * as net from 'node:net';
import { type ProxyProcess, proxyGet, sendRaw, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, metricsPortOf } from './ops-support.js';

interface ScriptedOrigin extends AsyncDisposable {
  readonly port: number;
  /** Every request head received, in order. */
  readonly heads: string[];
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * An origin on raw sockets: `answer(connection number, request number on that connection, head)` returns the bytes to
 * write, or `null` to close the connection without a byte (`'hold'` writes nothing and keeps it open).
 */
async function startScriptedOrigin(
  answer: (conn: number, nth: number, head: string) => string | null | 'hold',
): Promise<ScriptedOrigin> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    const conn = ++connections;
    let nth = 0;
    let buf = '';
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        const out = answer(conn, ++nth, head);
        if (out === null) s.destroy();
        else if (out !== 'hold') s.write(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const close = (): Promise<void> =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    get connections() {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';

describe('forward: 1xx answers from an origin', () => {
  let upgrade: ScriptedOrigin;
  let odd: ScriptedOrigin;
  let hints: ScriptedOrigin;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    upgrade = await startScriptedOrigin(
      () => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    odd = await startScriptedOrigin(() => 'HTTP/1.1 199 Odd\r\nX-A: b\r\n\r\n');
    hints = await startScriptedOrigin(() => `HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${OK}`);
    proxy = await startProxy({
      ports: [upgrade.port, odd.port, hints.port],
      allow: ['.test'],
      dns: { hosts: { 'up.test': ['127.0.0.1'], 'odd.test': ['127.0.0.1'], 'hints.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      // Far longer than the test may wait: a 502 must come from the 1xx itself, not from a timer.
      timeouts: { upstream_response_ms: 60_000 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    for (const o of [upgrade, odd, hints]) await o?.close();
  });

  it('answers an unsolicited 101 with 502 bad_response at once and logs it at once', async () => {
    const t0 = Date.now();
    const res = await proxyGet(proxy.port, `http://up.test:${upgrade.port}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    expect(Date.now() - t0).toBeLessThan(5_000);
    const rec = await proxy.waitForRecord((r) => r.host === 'up.test');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(rec).toMatchObject({ status: 502, reason: 'bad_response', verdict: 'error' });
  });

  it('strips Upgrade from a websocket request (the origin never sees it) and answers its 101 with 502', async () => {
    const before = upgrade.heads.length;
    const res = await proxyGet(proxy.port, `http://up.test:${upgrade.port}/ws`, {
      headers: { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    const head = upgrade.heads[before] ?? '';
    expect(head).toMatch(/^GET \/ws HTTP\/1\.1/);
    expect(head).not.toMatch(/^upgrade:/im);
  });

  it('answers a 1xx other than 100, 102 and 103 with 502 bad_response at once', async () => {
    const t0 = Date.now();
    const res = await proxyGet(proxy.port, `http://odd.test:${odd.port}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('passes over a 103 Early Hints and relays the final answer', async () => {
    const res = await proxyGet(proxy.port, `http://hints.test:${hints.port}/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
  });
});

describe('forward: a pooled connection the origin closes as it is reused', () => {
  let origin: ScriptedOrigin;
  let proxy: ProxyProcess;
  let metricsPort: number;

  beforeAll(async () => {
    // Connection 1 answers its first request and closes on the second without a byte: the stale pooled
    // connection. Every later connection answers normally.
    origin = await startScriptedOrigin((conn, nth) => (conn === 1 && nth === 2 ? null : OK));
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['.test'],
      dns: { hosts: { 'stale.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      metrics: { listen: '127.0.0.1:0' },
    });
    metricsPort = await metricsPortOf(proxy);
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  it('retries an idempotent request once on a fresh connection, logs the retry and counts it', async () => {
    const url = `http://stale.test:${origin.port}/`;
    expect((await proxyGet(proxy.port, `${url}one`)).status).toBe(200);
    expect(origin.connections).toBe(1);
    const res = await proxyGet(proxy.port, `${url}two`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    // The second request went to the pooled connection 1 (closed there), then once more on connection 2.
    expect(origin.connections).toBe(2);
    expect(origin.heads.filter((h) => h.startsWith('GET /two '))).toHaveLength(2);
    const rec = await proxy.waitForRecord((r) => r.path === '/two');
    expect(rec).toMatchObject({ status: 200, verdict: 'allow', retried: true });
    expect(proxy.accessLog().find((r) => r.path === '/one')?.retried).toBeUndefined();
    const text = (await httpGet(metricsPort, '/metrics')).body;
    expect(text).toMatch(/^cuttle_upstream_retries_total 1$/m);
  });

  it('does not retry a POST: it answers 502 upstream_reset', async () => {
    await using o = await startScriptedOrigin((conn, nth) => (conn === 1 && nth === 2 ? null : OK));
    await using p = await startProxy({
      ports: [o.port],
      allow: ['.test'],
      dns: { hosts: { 'stale.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    const url = `http://stale.test:${o.port}/`;
    expect((await proxyGet(p.port, `${url}one`)).status).toBe(200);
    const res = await sendRaw(
      p.port,
      `POST ${url}post HTTP/1.1\r\nHost: stale.test\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody`,
    );
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('upstream_reset');
    expect(o.heads.filter((h) => h.startsWith('POST /post '))).toHaveLength(1);
  });
});
