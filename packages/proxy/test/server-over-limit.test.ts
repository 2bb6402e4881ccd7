/**
 * A connection over a connection limit is refused before anything it sent is parsed: a 503 `limit_exceeded` (or
 * nothing, with `over_limit: drop`) and a lingering close, nothing forwarded, no upstream connection, one log line.
 */
import * as net from 'node:net';
import {
  type Canary,
  type Origin,
  type ProxyProcess,
  sendRaw,
  startCanary,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const connect = (port: number): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.on('error', reject);
  });

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['reject', 503],
  ['drop', 0],
] as const)('over_limit: %s', (mode, status) => {
  let origin: Origin;
  let canary: Canary;
  let proxy: ProxyProcess;
  let held: net.Socket;

  beforeAll(async () => {
    origin = await startOrigin();
    canary = await startCanary('127.0.0.2');
    proxy = await startProxy({
      ports: [origin.port],
      connect_ports: [canary.port],
      allow: ['origin.test', 'canary.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'canary.test': ['127.0.0.2'] } },
      destinations: { allow_ranges: ['127.0.0.0/8'] },
      limits: { max_connections_per_client: 1, over_limit: mode },
    });
    held = await connect(proxy.port);
    await settle(100);
  });

  afterAll(async () => {
    held?.destroy();
    await proxy?.close();
    await origin?.close();
    await canary?.close();
  });

  const refusals = (): Record<string, unknown>[] => proxy.accessLog();

  it('forwards nothing of a refused POST and logs it once', async () => {
    const before = refusals().length;
    const body = 'x'.repeat(1000);
    const res = await sendRaw(
      proxy.port,
      `POST http://origin.test:${origin.port}/upload HTTP/1.1\r\nHost: origin.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(status);
    expect(res.closed).toBe(true);
    if (status === 503) expect(res.headers['x-cuttle-deny']).toBe('limit_exceeded');
    await settle();
    expect(origin.requests).toHaveLength(0);
    expect(origin.connections).toBe(0);
    const lines = refusals().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: 'limit_exceeded', verdict: 'deny', status, method: '-' });
  });

  it('opens no upstream connection for a refused CONNECT', async () => {
    const before = refusals().length;
    const res = await sendRaw(proxy.port, `CONNECT canary.test:${canary.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(res.status).toBe(status);
    await settle();
    expect(canary.connections).toBe(0);
    expect(refusals().slice(before)).toHaveLength(1);
  });

  // Only the 503 variant writes an answer that a reset could destroy; the drop variant has none to deliver.
  if (status === 503) {
    it('still delivers the 503 when the client keeps sending a large body', async () => {
      // Closing with unread bytes makes the kernel send a reset that can destroy the answer: the close lingers.
      const body = 'y'.repeat(512 * 1024);
      const res = await sendRaw(
        proxy.port,
        `POST http://origin.test:${origin.port}/big HTTP/1.1\r\nHost: origin.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      expect(res.status).toBe(503);
      expect(res.headers['x-cuttle-deny']).toBe('limit_exceeded');
      await settle();
      expect(origin.requests).toHaveLength(0);
    });
  }
});
