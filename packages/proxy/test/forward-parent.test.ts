import { type Origin, type ProxyProcess, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { Server } from 'proxy-chain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Plain HTTP chained through a real parent (proxy-chain on loopback, with credentials): same decision and
// hygiene as direct, the parent's own address passes the guard, its credentials never reach the origin or the log.
describe('forward: through the parent proxy of `upstream`', () => {
  let origin: Origin;
  let parent: Server;
  let parentRequests: string[];
  let proxy: ProxyProcess;

  beforeAll(async () => {
    origin = await startOrigin();
    parentRequests = [];
    parent = new Server({
      port: 0,
      host: '127.0.0.1',
      verbose: false,
      prepareRequestFunction: ({ username, password, request }) => {
        parentRequests.push(request.url ?? '');
        return { requestAuthentication: username !== 'puser' || password !== 'p@ss' };
      },
    });
    await parent.listen();
    proxy = await startProxy({
      ports: [origin.port],
      // Chained, the parent resolves the destination: `localhost` is in its /etc/hosts and reaches the origin.
      allow: ['localhost'],
      upstream: `http://puser:p%40ss@127.0.0.1:${parent.port}`,
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await parent?.close(true);
    await origin?.close();
  });

  it("sends allowed requests to the parent in absolute-form with its credentials, not the client's", async () => {
    const head = [
      `GET http://localhost:${origin.port}/via-parent HTTP/1.1`,
      'Host: evil.test',
      'Proxy-Authorization: Basic Y2xpZW50OnNlY3JldA==',
      'Connection: close, X-Secret',
      'X-Secret: 1',
    ].join('\r\n');
    const res = await sendRaw(proxy.port, `${head}\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(parentRequests).toContain(`http://localhost:${origin.port}/via-parent`);
    const seen = origin.requests.find((r) => r.url === '/via-parent');
    expect(seen?.headers.host).toEqual([`localhost:${origin.port}`]);
    expect(seen?.headers['proxy-authorization']).toBeUndefined();
    expect(seen?.headers['x-secret']).toBeUndefined();
    await expect.poll(() => proxy.accessLog().find((r) => r.path === '/via-parent')).toBeTruthy();
    const log = proxy.accessLog().find((r) => r.path === '/via-parent');
    expect(JSON.stringify(log)).not.toContain('p@ss');
    expect(log?.upstream).toBe(`127.0.0.1:${parent.port}`);
  });

  it('never asks the parent about a denied name', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://denied.test:${origin.port}/no HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(parentRequests.some((u) => u.includes('denied.test'))).toBe(false);
  });
});
