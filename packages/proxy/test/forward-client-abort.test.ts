import * as net from 'node:net';
import { type Origin, type ProxyProcess, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A client that hangs up while the origin is still thinking must cost the daemon nothing: on Node 24,
// stream.pipeline() throws synchronously into a destroyed response (ERR_STREAM_UNABLE_TO_PIPE), which once
// crashed the proxy under wrk.
describe('forward: client gone before the origin answers', () => {
  let origin: Origin;
  let proxy: ProxyProcess;
  const answered: Array<() => void> = [];

  beforeAll(async () => {
    origin = await startOrigin({
      respond: (_req, res) => {
        answered.push(() => res.end('late answer'));
      },
    });
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['slow.test'],
      dns: { hosts: { 'slow.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  it('keeps serving after clients abort mid-request, and logs each aborted request once', async () => {
    for (let i = 0; i < 3; i++) {
      const before = origin.requests.length;
      const sock = net.connect(proxy.port, '127.0.0.1');
      sock.on('error', () => {});
      sock.write(`GET http://slow.test:${origin.port}/abort-${i} HTTP/1.1\r\nHost: slow.test\r\n\r\n`);
      await expect.poll(() => origin.requests.length).toBe(before + 1);
      sock.destroy();
      await new Promise((r) => setTimeout(r, 50));
      answered.shift()?.();
    }
    const after = sendRaw(
      proxy.port,
      `GET http://slow.test:${origin.port}/after HTTP/1.1\r\nHost: slow.test\r\n\r\n`,
    );
    await expect.poll(() => answered.length).toBe(1);
    answered.shift()?.();
    const res = await after;
    expect(res.status).toBe(200);
    expect(proxy.child.exitCode).toBeNull();
    await expect
      .poll(() => proxy.accessLog().filter((l) => String(l.path ?? l.url ?? '').includes('/abort-')).length)
      .toBe(3);
  });

  it('answers a client that half-closes after its request (busybox wget does), even when the origin is slow', async () => {
    const chunks: Buffer[] = [];
    const sock = net.connect(proxy.port, '127.0.0.1');
    sock.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise((r) => sock.on('close', r));
    sock.end(`GET http://slow.test:${origin.port}/half-close HTTP/1.1\r\nHost: slow.test\r\n\r\n`);
    await expect.poll(() => answered.length).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    answered.shift()?.();
    await closed;
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('late answer');
  });
});
