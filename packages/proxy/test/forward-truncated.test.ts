import { type Canary, type ProxyProcess, sendRaw, startProxy, startRawOrigin } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// An origin that dies mid-body: the client must see the connection close, never a short body passed off as whole
// (with keep-alive it would otherwise wait for, or misframe, the rest).
describe('forward: origin closes before the whole body', () => {
  let origin: Canary & { heads: string[] };
  let proxy: ProxyProcess;

  beforeAll(async () => {
    origin = await startRawOrigin(
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nonly-this',
    );
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['cut.test'],
      dns: { hosts: { 'cut.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  it('closes the client connection after relaying what came, and logs the exchange as cut short', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://cut.test:${origin.port}/x HTTP/1.1\r\nHost: cut.test\r\n\r\n`,
      { quietMs: 3000 },
    );
    expect(res.status).toBe(200);
    expect(res.closed).toBe(true);
    expect(res.body).toBe('only-this');
    await expect
      .poll(() => proxy.accessLog().find((l) => l.path === '/x'))
      .toMatchObject({ status: 200, closeReason: 'error' });
  });
});
