import {
  createLinkLocalNetwork,
  type LinkLocalNetwork,
  type OriginProcess,
  type ProxyProcess,
  skipUnless,
  startOriginProcess,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A real link-local setup: namespace cpx-ctr plays the container, its eth0 is joined by a veth pair to bridge
// cpxbr0 holding fe80::1, and the proxy binds by interface name. Then the bridge is deleted and recreated (new
// interface index, as LXD does on restart) while the proxy runs.
describe.skipIf(skipUnless({ root: true, commands: ['ip', 'curl'] }))(
  'link-local listener on a bridge',
  () => {
    let net: LinkLocalNetwork | undefined;
    let origin: OriginProcess;
    let proxy: ProxyProcess;
    let port: number;

    const curl = async (url: string): Promise<{ code: string; body: string }> => {
      const args = ['-s', '-m', '5', '-w', '\\n%{http_code}', '-x', `http://[fe80::1%25eth0]:${port}`, url];
      const out = await net!.exec('curl', args);
      const nl = out.lastIndexOf('\n');
      return { body: out.slice(0, nl), code: out.slice(nl + 1) };
    };

    beforeAll(async () => {
      net = createLinkLocalNetwork('cpx-ctr', 'cpxbr0');
      // In its own process: while curl runs this process may be suspended (gVisor spawn), see startOriginProcess.
      origin = await startOriginProcess();
      proxy = await startProxy({
        listen: ['cpxbr0:0'],
        clients: ['fe80::/10'],
        ports: [origin.port],
        allow: ['origin.test'],
        dns: { hosts: { 'origin.test': ['127.0.0.1'], 'denied.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
      });
      expect(proxy.endpoints[0]).toMatch(/^\[fe80::1%cpxbr0\]:\d+$/);
      port = proxy.port;
    });
    afterAll(async () => {
      await proxy?.close();
      await origin?.close();
      net?.remove();
    });

    it('serves the namespace through [fe80::1%eth0] and denies a name not allowed', async () => {
      const ok = await curl(`http://origin.test:${origin.port}/from-ctr`);
      expect(ok.code).toBe('200');
      expect(ok.body).toContain('origin saw GET /from-ctr');
      const denied = await curl(`http://denied.test:${origin.port}/`);
      expect(denied.code).toBe('403');
      // The access log is written asynchronously: the line may land after curl has its answer.
      const rec = await proxy.waitForRecord((r) => r.path === '/from-ctr');
      expect(String(rec?.client)).toMatch(/^fe80::.*%cpxbr0$/);
    });

    it('rebinds after the bridge is deleted and recreated', async () => {
      net!.recreateBridge();
      await proxy.waitForStderr(
        /listening on \[fe80::1%cpxbr0\][\s\S]*listening on \[fe80::1%cpxbr0\]/,
        15_000,
      );
      const ok = await curl(`http://origin.test:${origin.port}/after-rebind`);
      expect(ok.code).toBe('200');
      expect(ok.body).toContain('/after-rebind');
    });
  },
);

// Boot order: the proxy starts before the bridge exists, says so once, and binds when the bridge appears.
describe.skipIf(skipUnless({ root: true, commands: ['ip', 'curl'] }))(
  'link-local listener before its bridge exists',
  () => {
    let net: LinkLocalNetwork | undefined;
    let origin: OriginProcess;
    let proxy: ProxyProcess;

    beforeAll(async () => {
      origin = await startOriginProcess();
      proxy = await startProxy(
        {
          listen: ['cpxbr1:0'],
          clients: ['fe80::/10'],
          ports: [origin.port],
          allow: ['origin.test'],
          dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
          destinations: { allow_ranges: ['127.0.0.1/32'] },
        },
        { listeners: 0 },
      );
      await proxy.waitForStderr(/cpxbr1 does not exist; retrying/);
    });
    afterAll(async () => {
      await proxy?.close();
      await origin?.close();
      net?.remove();
    });

    it('binds once the bridge comes up and serves the namespace', async () => {
      net = createLinkLocalNetwork('cpx-ctr1', 'cpxbr1');
      const m = await proxy.waitForStderr(/listening on \[fe80::1%cpxbr1\]:(\d+)/, 15_000);
      expect(proxy.stderr().match(/cpxbr1 does not exist/g)).toHaveLength(1);
      const out = await net.exec('curl', [
        '-s',
        '-m',
        '5',
        '-x',
        `http://[fe80::1%25eth0]:${m[1]}`,
        `http://origin.test:${origin.port}/late`,
      ]);
      expect(out).toContain('origin saw GET /late');
    });
  },
);
