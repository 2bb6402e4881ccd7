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

// Plain HTTP through a real daemon to a recording origin on loopback. Everything asserted is what the client and
// the origin observe, plus the access log.
describe('forward: plain HTTP through the proxy', () => {
  let origin: Origin;
  let canary: Canary;
  let proxy: ProxyProcess;
  let base: string;

  beforeAll(async () => {
    origin = await startOrigin();
    canary = await startCanary('127.0.0.2');
    base = `http://origin.test:${origin.port}`;
    proxy = await startProxy({
      ports: [origin.port, canary.port],
      allow: ['origin.test', 'canary.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'canary.test': ['127.0.0.2'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await canary?.close();
  });

  const request = (head: string, body = ''): Promise<Awaited<ReturnType<typeof sendRaw>>> =>
    sendRaw(proxy.port, `${head}\r\n\r\n${body}`);

  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS'])(
    'forwards %s with the Host taken from the target',
    async (method) => {
      const before = origin.requests.length;
      const res = await request(
        `${method} ${base}/m/${method} HTTP/1.1\r\nHost: evil.test\r\nConnection: close`,
      );
      expect(res.status).toBe(200);
      const seen = origin.requests[before];
      expect(seen?.method).toBe(method);
      expect(seen?.url).toBe(`/m/${method}`);
      expect(seen?.headers.host).toEqual([`origin.test:${origin.port}`]);
    },
  );

  it.each(['POST', 'PUT', 'PATCH'])('streams a %s body to the origin', async (method) => {
    const body = 'x'.repeat(100_000);
    const before = origin.requests.length;
    const res = await request(
      `${method} ${base}/upload HTTP/1.1\r\nHost: origin.test\r\nContent-Length: ${body.length}\r\nConnection: close`,
      body,
    );
    expect(res.status).toBe(200);
    expect(origin.requests[before]?.body).toBe(body);
  });

  it('forwards a chunked request body re-framed', async () => {
    const before = origin.requests.length;
    const res = await request(
      `POST ${base}/chunked HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\nConnection: close`,
      '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(origin.requests[before]?.body).toBe('hello world');
  });

  it('strips hop-by-hop and Connection-named headers and adds no Via or X-Forwarded-For', async () => {
    const before = origin.requests.length;
    const res = await request(
      [
        `GET ${base}/hop HTTP/1.1`,
        'Host: origin.test',
        'Connection: close, X-Secret, x-other',
        'X-Secret: 1',
        'X-Other: 2',
        'Proxy-Connection: keep-alive',
        'Proxy-Authorization: Basic dXNlcjpwYXNz',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Trailer: X-T',
        'Upgrade: websocket',
        'X-Kept: yes',
      ].join('\r\n'),
    );
    expect(res.status).toBe(200);
    const seen = origin.requests[before];
    const names = Object.keys(seen?.headers ?? {});
    for (const gone of [
      'x-secret',
      'x-other',
      'proxy-connection',
      'proxy-authorization',
      'te',
      'trailer',
      'upgrade',
      'via',
      'x-forwarded-for',
    ]) {
      expect(names).not.toContain(gone);
    }
    expect(seen?.headers['keep-alive']).toBeUndefined();
    expect(seen?.headers['x-kept']).toEqual(['yes']);
  });

  it('keeps the client connection alive across requests', async () => {
    const one = `GET ${base}/ka/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n`;
    const two = `GET ${base}/ka/2 HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`;
    const res = await sendRaw(proxy.port, one + two);
    expect(res.raw.match(/HTTP\/1\.1 200/g)?.length).toBe(2);
    expect(res.raw).toContain('origin saw GET /ka/2');
    await expect
      .poll(() => proxy.accessLog().filter((r) => r.path === '/ka/1' || r.path === '/ka/2').length)
      .toBe(2);
  });

  it('reuses pooled connections to the origin across client connections', async () => {
    const before = origin.connections;
    for (let i = 0; i < 5; i++) {
      const res = await request(`GET ${base}/pool/${i} HTTP/1.1\r\nHost: origin.test\r\nConnection: close`);
      expect(res.status).toBe(200);
    }
    expect(origin.connections - before).toBeLessThanOrEqual(1);
  });

  it('denies a name not on the allowlist with 403 and X-Cuttle-Deny, without echoing request headers', async () => {
    const res = await request(
      `GET http://other.test:${origin.port}/ HTTP/1.1\r\nHost: other.test\r\nX-Echo-Me: secret-value\r\nConnection: close`,
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-cuttle-deny']).toBe('not_allowlisted');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.raw).not.toContain('secret-value');
  });

  it('closes the connection after denying a request whose body it did not read', async () => {
    const res = await sendRaw(
      proxy.port,
      `POST http://other.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial`,
      { quietMs: 3000 },
    );
    expect(res.status).toBe(403);
    expect(res.closed).toBe(true);
  });

  it('writes exactly one access record per request and keeps stdout and stderr free of it', async () => {
    // Lines are written in batches (at most 50 ms late): let the earlier tests' lines land before counting.
    let before = -1;
    for (let n = proxy.accessLog().length; n !== before; n = proxy.accessLog().length) {
      before = n;
      await new Promise((r) => setTimeout(r, 200));
    }
    await request(`GET ${base}/logged HTTP/1.1\r\nHost: origin.test\r\nConnection: close`);
    await request(
      `GET http://denied.test:${origin.port}/ HTTP/1.1\r\nHost: denied.test\r\nConnection: close`,
    );
    await expect.poll(() => proxy.accessLog().length).toBe(before + 2);
    const [ok, denied] = proxy.accessLog().slice(before);
    expect(ok).toMatchObject({
      verdict: 'allow',
      status: 200,
      host: 'origin.test',
      path: '/logged',
      upstream: `127.0.0.1:${origin.port}`,
    });
    expect(denied).toMatchObject({ verdict: 'deny', reason: 'not_allowlisted', status: 403 });
    expect(proxy.stdout()).toBe('');
    expect(proxy.stderr()).not.toContain('/logged');
  });

  it('never connected to the canary', () => {
    expect(canary.connections).toBe(0);
  });
});
