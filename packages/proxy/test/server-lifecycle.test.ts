import * as net from 'node:net';
import { isZoneMismatch } from '@cuttle/shared';
import { type Origin, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientAddress } from '../src/core/client.js';

const connect = (port: number, host = '127.0.0.1'): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => resolve(s));
    s.on('error', reject);
  });

describe('server: listen, clients, limits, shutdown', () => {
  let origin: Origin;
  const base = (): Record<string, unknown> => ({
    ports: [origin.port],
    allow: ['origin.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
  });
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('says where it listens on stderr, serves [::1] too, and exits 0 on SIGTERM', async () => {
    const proxy = await startProxy({ ...base(), listen: ['127.0.0.1:0', '[::1]:0'] }, { listeners: 2 });
    try {
      expect(proxy.endpoints[0]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(proxy.endpoints[1]).toMatch(/^\[::1\]:\d+$/);
      const v6port = Number(proxy.endpoints[1]!.split(':').pop());
      const res = await sendRaw(
        v6port,
        `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        { host: '::1' },
      );
      expect(res.status).toBe(200);
      expect(await proxy.stop('SIGTERM')).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('exits 0 on SIGINT', async () => {
    const proxy = await startProxy(base());
    try {
      expect(await proxy.stop('SIGINT')).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it.each(['0.0.0.0:3128', '[::]:3128', ':3128', '[::0]:3128'])(
    'refuses the wildcard listen %s',
    async (listen) => {
      await expect(startProxy({ ...base(), listen: [listen] })).rejects.toThrow(/wildcard|expected|listen/);
    },
  );

  it('reports a missing interface once and keeps retrying', async () => {
    const proxy = await startProxy({ ...base(), listen: ['cpxnone0:3128'] }, { listeners: 0 });
    try {
      await proxy.waitForStderr(/cpxnone0 does not exist; retrying/);
      await new Promise((r) => setTimeout(r, 2500));
      expect(proxy.stderr().match(/cpxnone0 does not exist/g)).toHaveLength(1);
      expect(proxy.child.exitCode).toBeNull();
    } finally {
      await proxy.close();
    }
  });

  it('denies a client outside `clients` with 403 client_denied', async () => {
    const proxy = await startProxy({ ...base(), clients: ['fe80::/10'] });
    try {
      const res = await sendRaw(
        proxy.port,
        `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status).toBe(403);
      expect(res.headers['x-cuttle-deny']).toBe('client_denied');
      expect(origin.requests.filter((r) => r.url === '/')).toHaveLength(1); // only the [::1] request above
    } finally {
      await proxy.close();
    }
  });

  it.each([
    ['reject', 503],
    ['drop', 0],
  ] as const)('over the per-client limit (%s) answers %i and counts it', async (mode, status) => {
    const proxy = await startProxy({
      ...base(),
      limits: { max_connections_per_client: 2, over_limit: mode },
    });
    const held = [await connect(proxy.port), await connect(proxy.port)];
    try {
      await new Promise((r) => setTimeout(r, 100));
      const res = await sendRaw(
        proxy.port,
        `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect(res.status).toBe(status);
      expect(res.closed).toBe(true);
      if (status === 503) expect(res.headers['x-cuttle-deny']).toBe('limit_exceeded');
      await expect.poll(() => proxy.accessLog().filter((r) => r.reason === 'limit_exceeded')).toHaveLength(1);
    } finally {
      for (const s of held) s.destroy();
      await proxy.close();
    }
  });

  it('closes a connection whose head does not arrive in time (slowloris)', async () => {
    const proxy = await startProxy({ ...base(), timeouts: { header_ms: 500 } });
    try {
      const res = await sendRaw(
        proxy.port,
        `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n`,
        { quietMs: 8000 },
      );
      expect(res.closed).toBe(true);
      expect([0, 408]).toContain(res.status);
    } finally {
      await proxy.close();
    }
  });
});

describe('server: zone rule', () => {
  it.each([
    ['fe80::2%br0', 'br0', false],
    ['fe80::2%eth9', 'br0', true],
    ['fe80::2', 'br0', true],
    ['127.0.0.1', undefined, false],
  ] as const)('client %s on a listener zoned %s: mismatch=%s', (remote, zone, mismatch) => {
    expect(isZoneMismatch(parseClientAddress(remote), zone)).toBe(mismatch);
  });
});
