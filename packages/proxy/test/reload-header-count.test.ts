/**
 * `limits.max_header_count` changed by reload, on a keep-alive connection opened before it. Node fixes the count
 * limit of a connection's parser when it accepts the connection, and on Node 20 the headers past that limit still
 * frame the body (docs/lifecycle.md, "Header count"). So a connection keeps the lower of its own limit and the
 * loaded one: lowering applies to every request from the reload on, raising only to connections accepted after it.
 * Both directions, with a body framed by a header past the old limit: the origin must never see such a request.
 */
import * as net from 'node:net';
import { type Origin, type ProxyProcess, startOrigin, startProxy } from '@cuttle/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { patchConfig } from './ops-support.js';

/** A client connection kept open across requests: `send` writes bytes and waits for one whole answer (or the close). */
interface KeepAlive {
  send(bytes: string): Promise<{ status: number; raw: string }>;
  /** Resolves true once the proxy closed the connection, false if it is still open after 5 s. */
  closed(): Promise<boolean>;
  close(): void;
}

async function openKeepAlive(port: number): Promise<KeepAlive> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let buf = '';
  let closed = false;
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  /** One whole answer at the front of `buf` (head and Content-Length body), or null. */
  const take = (): string | null => {
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
    if (buf.length < end + 4 + length) return null;
    const answer = buf.slice(0, end + 4 + length);
    buf = buf.slice(end + 4 + length);
    return answer;
  };
  return {
    async send(bytes) {
      socket.write(bytes);
      const deadline = Date.now() + 5_000;
      for (;;) {
        const answer = take();
        if (answer !== null || closed || Date.now() > deadline) {
          const raw = answer ?? buf;
          return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0), raw };
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
        wake = null;
      }
    },
    async closed() {
      const deadline = Date.now() + 5_000;
      while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return closed;
    },
    close: () => socket.destroy(),
  };
}

/** A POST with `before` filler headers, then `Content-Length: 5` and the body `hello`. */
function postWithHeaders(port: number, path: string, before: number): string {
  let head = `POST http://origin.test:${port}${path} HTTP/1.1\r\nHost: origin.test\r\n`;
  for (let i = 0; i < before; i++) head += `X-Filler-${i}: v\r\n`;
  return `${head}Content-Length: 5\r\n\r\nhello`;
}

const get = (port: number, path: string): string =>
  `GET http://origin.test:${port}${path} HTTP/1.1\r\nHost: origin.test\r\n\r\n`;

let origin: Origin | undefined;
let proxy: ProxyProcess | undefined;
const clients: KeepAlive[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
  await origin?.close();
});

async function start(count: number): Promise<{ origin: Origin; proxy: ProxyProcess }> {
  origin = await startOrigin();
  proxy = await startProxy({
    ports: [origin.port],
    allow: ['origin.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    timeouts: { keepalive_ms: 30_000 },
    limits: { max_header_count: count },
  });
  return { origin, proxy };
}

async function reload(p: ProxyProcess, count: number): Promise<void> {
  patchConfig(p, { limits: { max_header_count: count } });
  p.child.kill('SIGHUP');
  await p.waitForStderr(/reloaded .*limits\.max_header_count.*\n/);
}

async function keepAlive(p: ProxyProcess): Promise<KeepAlive> {
  const c = await openKeepAlive(p.port);
  clients.push(c);
  return c;
}

describe('max_header_count changed by reload, on a connection opened before it', () => {
  it('a lower limit applies to that connection at once: 431, the origin sees nothing', async () => {
    const { origin, proxy } = await start(100);
    const old = await keepAlive(proxy);
    expect((await old.send(get(origin.port, '/before'))).status).toBe(200);
    await reload(proxy, 10);
    const res = await old.send(postWithHeaders(origin.port, '/after', 20));
    expect(res.status).toBe(431);
    expect(res.raw).toMatch(/\r\nX-Cuttle-Error: headers_too_large\r\n/i);
    expect(await old.closed()).toBe(true);
    const rec = await proxy.waitForRecord((r) => r.reason === 'headers_too_large');
    expect(rec).toMatchObject({ status: 431, verdict: 'error' });
    expect(origin.requests.map((r) => r.url)).toEqual(['/before']);
  });

  it('a higher limit does not reach that connection: a body framed past the old limit gets 431, never forwarded', async () => {
    const { origin, proxy } = await start(10);
    const old = await keepAlive(proxy);
    expect((await old.send(get(origin.port, '/before'))).status).toBe(200);
    await reload(proxy, 100);
    // Content-Length is header 14: past the old parser limit (10), well under the new one (100).
    const res = await old.send(postWithHeaders(origin.port, '/after', 12));
    expect(res.status).toBe(431);
    expect(await old.closed()).toBe(true);
    const rec = await proxy.waitForRecord((r) => r.reason === 'headers_too_large');
    expect(rec).toMatchObject({ status: 431, verdict: 'error' });
    expect(origin.requests.map((r) => r.url)).toEqual(['/before']);
    // A connection accepted after the reload has the new limit: the same request is forwarded with its body.
    const fresh = await keepAlive(proxy);
    const ok = await fresh.send(postWithHeaders(origin.port, '/fresh', 12));
    expect(ok.status).toBe(200);
    expect(origin.requests.at(-1)).toMatchObject({ method: 'POST', url: '/fresh', body: 'hello' });
  });
});
