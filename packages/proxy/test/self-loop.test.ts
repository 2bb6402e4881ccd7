/**
 * The proxy never connects to an address and port it listens on (its proxy listeners and its metrics listener),
 * whatever `allow`, `allow_ips`, `destinations.allow_ranges` and the port lists say: 403 `self_loop`, one log line,
 * nothing nested. The config below allows loopback on purpose, as a Squid `Safe_ports 1025-65535` import would.
 */
import { execFileSync } from 'node:child_process';
import {
  type Origin,
  type ProxyProcess,
  proxyGet,
  sendRaw,
  skipUnless,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFileOf, closedPort, httpGet, linesOf } from './ops-support.js';

let proxy: ProxyProcess;
let origin: Origin;
let P: number;
let M: number;

beforeAll(async () => {
  origin = await startOrigin();
  P = await closedPort();
  M = await closedPort();
  const ports = [P, M, origin.port];
  proxy = await startProxy(
    {
      listen: [`127.0.0.1:${P}`, `[::1]:${P}`],
      metrics: { listen: `127.0.0.1:${M}` },
      ports,
      connect_ports: ports,
      allow: ['loop.test', 'loop6.test', 'origin.test', 'mixed.test'],
      allow_ips: ['0.0.0.0/0', '::/0'],
      destinations: { allow_ranges: ['0.0.0.0/8', '127.0.0.0/8', '::1/128', '::/128', '::ffff:0:0/96'] },
      dns: {
        hosts: {
          'loop.test': ['127.0.0.1'],
          'loop6.test': ['::1'],
          'origin.test': ['127.0.0.1'],
          // One self address among others: the whole answer is refused, not just that address.
          'mixed.test': ['127.0.0.3', '127.0.0.1'],
        },
      },
    },
    { listeners: 2 },
  );
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

function connect(target: string, port = P): Promise<{ status: number; headers: Record<string, string> }> {
  return sendRaw(port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, { quietMs: 300 });
}

describe('self_loop', () => {
  const connects = () => [
    `loop.test:${P}`,
    `127.0.0.1:${P}`,
    `[::1]:${P}`,
    `loop6.test:${P}`,
    `[::ffff:127.0.0.1]:${P}`,
    `[::ffff:7f00:1]:${P}`,
    `127.1:${P}`,
    `2130706433:${P}`,
    `0.0.0.0:${P}`,
    `[::]:${P}`,
    `mixed.test:${P}`,
    `loop.test:${M}`,
    `127.0.0.1:${M}`,
  ];
  const gets = () => [
    `http://loop.test:${P}/`,
    `http://[::1]:${P}/`,
    `http://loop.test:${M}/metrics`,
    `http://127.0.0.1:${M}/metrics`,
    `http://[::ffff:127.0.0.1]:${M}/metrics`,
    `http://0.0.0.0:${M}/metrics`,
  ];

  it('refuses CONNECT to every form of a proxy or metrics listener with 403 self_loop', async () => {
    const before = linesOf(accessFileOf(proxy)).length;
    const list = connects();
    for (const target of list) {
      const r = await connect(target);
      expect({ target, status: r.status, deny: r.headers['x-cuttle-deny'] }).toEqual({
        target,
        status: 403,
        deny: 'self_loop',
      });
    }
    // Exactly one line per CONNECT: nothing came back in through the loop as a nested request.
    await expect.poll(() => linesOf(accessFileOf(proxy)).length - before).toBe(list.length);
    const recs = proxy.accessLog().slice(before);
    expect(recs.every((r) => r.reason === 'self_loop' && r.verdict === 'deny' && r.upstream === null)).toBe(
      true,
    );
  });

  it('refuses plain HTTP to the proxy and metrics listeners with 403 self_loop (no exposition leaks)', async () => {
    const before = linesOf(accessFileOf(proxy)).length;
    const list = gets();
    for (const url of list) {
      const r = await proxyGet(P, url);
      expect({ url, status: r.status, deny: r.headers['x-cuttle-deny'] }).toEqual({
        url,
        status: 403,
        deny: 'self_loop',
      });
      expect(r.body).not.toContain('cuttle_');
    }
    await expect.poll(() => linesOf(accessFileOf(proxy)).length - before).toBe(list.length);
  });

  it('still reaches a real origin on the same loopback address (other port)', async () => {
    const r = await proxyGet(P, `http://origin.test:${origin.port}/ok`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('origin saw GET /ok\n');
    const t = await connect(`origin.test:${origin.port}`);
    expect(t.status).toBe(200);
  });

  it('counts self_loop denies in the metrics', async () => {
    const { body } = await httpGet(M, '/metrics');
    expect(body).toMatch(/reason="self_loop"[^\n]*\} [1-9]/);
  });
});

// An interface listener stands for every local address of its family: its address can change under it. A bridge
// with no ports stands in for lxdbr0 (no dummy module here).
describe.skipIf(skipUnless({ root: true, commands: ['ip'] }))('self_loop for an interface listener', () => {
  const iface = `csl${process.pid % 100000}`;
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });
  let ifProxy: ProxyProcess;
  let I: number;

  beforeAll(async () => {
    ip('link', 'add', iface, 'type', 'bridge');
    ip('link', 'set', iface, 'up');
    ip('-6', 'addr', 'add', 'fe80::1/64', 'dev', iface, 'nodad');
    ip('-6', 'addr', 'add', '2001:db8:5e1f::1/128', 'dev', iface, 'nodad');
    I = await closedPort();
    ifProxy = await startProxy(
      {
        listen: ['127.0.0.1:0', `${iface}:${I}`],
        ports: [I],
        connect_ports: [I],
        allow_ips: ['::/0'],
        destinations: { allow_ranges: ['::1/128', '2001:db8::/32'] },
      },
      { listeners: 2 },
    );
  });

  afterAll(async () => {
    await ifProxy?.close();
    try {
      ip('link', 'del', iface);
    } catch {
      // already gone
    }
  });

  it.each(['[::1]', '[2001:db8:5e1f::1]'])('refuses CONNECT %s:PORT with 403 self_loop', async (host) => {
    const r = await connect(`${host}:${I}`, ifProxy.port);
    expect({ status: r.status, deny: r.headers['x-cuttle-deny'] }).toEqual({
      status: 403,
      deny: 'self_loop',
    });
  });
});
