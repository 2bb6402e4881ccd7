/**
 * Every CONNECT failure gets a status line, never a silent close: a parent proxy that misbehaves on purpose
 * (closes at once, answers garbage, answers nothing), an origin port that refuses.
 */
import * as net from 'node:net';
import { type ProxyProcess, sendRaw, startProxy } from '@cuttle/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort } from './ops-support.js';

type Behaviour = (s: net.Socket) => void;

async function startParent(behave: Behaviour): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    behave(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

async function proxyVia(parentPort: number): Promise<ProxyProcess> {
  const proxy = await startProxy({
    upstream: `http://parent.test:${parentPort}`,
    connect_ports: [443],
    allow: ['origin.test'],
    dns: { hosts: { 'parent.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    timeouts: { upstream_connect_ms: 1500, upstream_response_ms: 1500 },
  });
  cleanup.push(() => proxy.close());
  return proxy;
}

describe('every CONNECT failure gets a status line', () => {
  it.each<[string, Behaviour]>([
    ['closes at once', (s) => s.destroy()],
    ['answers garbage', (s) => s.end('garbage\r\n\r\n')],
    ['answers a half head and closes', (s) => s.end('HTTP/1.1 200')],
    ['resets after reading the request', (s) => s.once('data', () => s.resetAndDestroy())],
    ['never answers', () => {}],
  ])('a parent that %s: 5xx status line', async (_name, behave) => {
    const parent = await startParent(behave);
    cleanup.push(() => parent.close());
    const proxy = await proxyVia(parent.port);
    const r = await sendRaw(proxy.port, 'CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n', {
      quietMs: 4000,
    });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.headers['x-cuttle-error']).toBeDefined();
  });

  it('a parent port that refuses: 502 status line', async () => {
    const proxy = await proxyVia(await closedPort());
    const r = await sendRaw(proxy.port, 'CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n');
    expect(r.status).toBe(502);
  });
});
