/**
 * /healthz says whether every proxy listener is bound: 503 with the reason while one is not (an interface that is
 * missing or has no address yet), 200 once it is, 503 again when it goes away.
 */
import { execFileSync } from 'node:child_process';
import { type ProxyProcess, skipUnless, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, metricsPortOf } from './ops-support.js';

const iface = `chz${process.pid % 100000}`;
let proxy: ProxyProcess;
let metricsPort: number;

beforeAll(async () => {
  proxy = await startProxy({ listen: ['127.0.0.1:0', `${iface}:0`], metrics: { listen: '127.0.0.1:0' } });
  metricsPort = await metricsPortOf(proxy);
  await proxy.waitForStderr(new RegExp(`${iface} does not exist`));
});

afterAll(async () => {
  await proxy?.close();
});

describe('/healthz', () => {
  it('answers 503 naming the listener and why while an interface listener is not bound', async () => {
    const r = await httpGet(metricsPort, '/healthz');
    expect(r.status).toBe(503);
    expect(r.body).toContain(`listen "${iface}:0" is not bound: interface ${iface} does not exist`);
  });

  describe.skipIf(skipUnless({ root: true, commands: ['ip'] }))('once the interface appears', () => {
    const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });
    afterAll(() => {
      try {
        ip('link', 'del', iface);
      } catch {
        // already gone
      }
    });

    it('answers 200 when it is bound and 503 again when it goes away', async () => {
      ip('link', 'add', iface, 'type', 'bridge');
      ip('link', 'set', iface, 'up');
      ip('-6', 'addr', 'add', 'fe80::1/64', 'dev', iface, 'nodad');
      await proxy.waitForStderr(new RegExp(`listening on \\[fe80::1%${iface}\\]`));
      expect(await httpGet(metricsPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      ip('link', 'del', iface);
      await expect
        .poll(async () => (await httpGet(metricsPort, '/healthz')).status, { timeout: 5000 })
        .toBe(503);
    });
  });
});
