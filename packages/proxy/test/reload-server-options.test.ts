/**
 * A reload applies the server options it loads: head limits (`max_header_bytes`, `max_header_count`) to
 * connections accepted after it, `header_ms` and `keepalive_ms` from then on; and it says which keys changed.
 */
import { type Origin, type ProxyProcess, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchConfig } from './ops-support.js';

let origin: Origin;
let proxy: ProxyProcess;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startProxy({
    ports: [origin.port],
    allow: ['origin.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    timeouts: { header_ms: 30_000, keepalive_ms: 30_000 },
    limits: { max_header_bytes: 16_384, max_header_count: 100 },
  });
  patchConfig(proxy, {
    timeouts: { header_ms: 1000, keepalive_ms: 1000 },
    limits: { max_header_bytes: 4096, max_header_count: 10 },
  });
  proxy.child.kill('SIGHUP');
  await proxy.waitForStderr(/reloaded .*\n/);
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

const get = (extra = ''): string =>
  `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: origin.test\r\n${extra}Connection: close\r\n\r\n`;

describe('reload applies the server options', () => {
  it('says which keys changed', () => {
    const line = /reloaded .*/.exec(proxy.stderr())?.[0] ?? '';
    for (const key of [
      'timeouts.header_ms',
      'timeouts.keepalive_ms',
      'limits.max_header_bytes',
      'limits.max_header_count',
    ])
      expect(line).toContain(key);
    expect(line).not.toContain('allow');
  });

  it('an 8 KiB header over the newly loaded 4 KiB limit gets 431', async () => {
    const res = await sendRaw(proxy.port, get(`X-Big: ${'a'.repeat(8192)}\r\n`));
    expect(res.status).toBe(431);
    // and a small one still passes
    expect((await sendRaw(proxy.port, get())).status).toBe(200);
  });

  it('more header lines than the newly loaded max_header_count get 431', async () => {
    let extra = '';
    for (let i = 0; i < 20; i++) extra += `X-H${i}: v\r\n`;
    expect((await sendRaw(proxy.port, get(extra))).status).toBe(431);
  });

  it('an unfinished head is closed after the newly loaded header_ms, not the old 30 s', async () => {
    const started = Date.now();
    const res = await sendRaw(proxy.port, `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n`, {
      quietMs: 9000,
    });
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('a connection that sends nothing gets its 408 after the newly loaded header_ms, not the old 30 s', async () => {
    const started = Date.now();
    const res = await sendRaw(proxy.port, '', { quietMs: 9000 });
    expect(res.status).toBe(408);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('an idle keep-alive connection is closed after the newly loaded keepalive_ms', async () => {
    const started = Date.now();
    const res = await sendRaw(
      proxy.port,
      `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: origin.test\r\n\r\n`,
      { quietMs: 9000 },
    );
    expect(res.status).toBe(200);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
