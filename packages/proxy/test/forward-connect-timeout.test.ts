import { execFileSync } from 'node:child_process';
import { type ProxyProcess, sendRaw, skipUnless, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A destination whose SYN never leaves: fdcc:cc::/64 is routed into namespace cpx-tmo, where no one answers
// neighbour discovery. The connect hangs, so the proxy's connect timer must answer 504.
const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};
const cleanup = (): void => {
  for (const args of [
    ['netns', 'del', 'cpx-tmo'],
    ['link', 'del', 'cpxtmo-h'],
  ]) {
    try {
      ip(...args);
    } catch {
      // already gone
    }
  }
};

describe.skipIf(skipUnless({ root: true, commands: ['ip'] }))('forward: upstream connect timeout', () => {
  let proxy: ProxyProcess;

  beforeAll(async () => {
    cleanup();
    ip('netns', 'add', 'cpx-tmo');
    ip('link', 'add', 'cpxtmo-h', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'cpx-tmo');
    ip('link', 'set', 'cpxtmo-h', 'up');
    ip('-n', 'cpx-tmo', 'link', 'set', 'eth0', 'up');
    ip('-6', 'route', 'add', 'fdcc:cc::/64', 'dev', 'cpxtmo-h');
    proxy = await startProxy({
      ports: [80],
      allow: ['blackhole.test'],
      dns: { hosts: { 'blackhole.test': ['fdcc:cc::5'] } },
      destinations: { allow_ranges: ['fdcc:cc::/64'] },
      timeouts: { upstream_connect_ms: 500 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    cleanup();
  });

  it('answers 504 upstream_timeout when the connection does not come up in time', async () => {
    const res = await sendRaw(
      proxy.port,
      'GET http://blackhole.test/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      {
        quietMs: 5000,
      },
    );
    expect(res.status).toBe(504);
    expect(res.headers['x-cuttle-error']).toBe('upstream_timeout');
    await expect
      .poll(() => proxy.accessLog().find((r) => r.host === 'blackhole.test'))
      .toMatchObject({
        verdict: 'error',
        reason: 'upstream_timeout',
        status: 504,
      });
  });
});
