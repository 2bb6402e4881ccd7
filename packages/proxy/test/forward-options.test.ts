import * as net from 'node:net';
import { type Origin, type ProxyProcess, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Timeouts and the opt-in forwarding headers, observed from the client and the origin.
describe('forward: timeouts and forwarded headers', () => {
  let origin: Origin;
  let silent: net.Server;
  let silentPort: number;
  const silentSockets = new Set<net.Socket>();
  let proxy: ProxyProcess;

  beforeAll(async () => {
    origin = await startOrigin();
    // Accepts and reads, never answers.
    silent = net.createServer((s) => {
      silentSockets.add(s);
      s.on('error', () => {});
      s.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as net.AddressInfo).port;
    proxy = await startProxy({
      ports: [origin.port, silentPort],
      allow: ['origin.test', 'silent.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'silent.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      timeouts: { upstream_response_ms: 500, request_body_idle_ms: 500 },
      forwarded: { via: true, x_forwarded_for: true },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    for (const s of silentSockets) s.destroy();
    await new Promise((r) => silent?.close(r));
  });

  it('answers 504 when the origin does not respond in time', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://silent.test:${silentPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      {
        quietMs: 5000,
      },
    );
    expect(res.status).toBe(504);
    expect(res.headers['x-cuttle-error']).toBe('upstream_timeout');
  });

  it('answers 408 and closes when a request body stalls', async () => {
    const res = await sendRaw(
      proxy.port,
      `POST http://origin.test:${origin.port}/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b`,
      { quietMs: 5000 },
    );
    expect(res.status).toBe(408);
    expect(res.closed).toBe(true);
    expect(origin.requests.find((r) => r.url === '/stall')).toBeUndefined();
  });

  it('adds Via and X-Forwarded-For only because `forwarded` says so', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://origin.test:${origin.port}/fwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    const seen = origin.requests.find((r) => r.url === '/fwd');
    expect(seen?.headers.via).toEqual(['1.1 cuttle']);
    expect(seen?.headers['x-forwarded-for']).toEqual(['127.0.0.1']);
  });
});
