/**
 * Container identity on the proxy side: the map file (EUI-64 consistency, zones), the per-container grants
 * (filtered identities only), and end to end through a real link-local client in a network namespace whose MAC is
 * in the map: its log lines and metrics carry the container, its own allow list applies, and turning filtering
 * off in the map (advisory identity) takes the grant away while the name is still logged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, configSchema } from '@cuttle/shared';
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
import { tagClient } from '../src/core/client.js';
import { EMPTY_IDENTITY, eui64LinkLocal, identify, parseIdentityMap } from '../src/identity/index.js';
import { httpGet, metricsPortOf, sample } from './ops-support.js';

const MAC = '00:16:3e:12:34:56';
const ADDR = 'fe80::216:3eff:fe12:3456';
const mapText = (instances: unknown[]): string => JSON.stringify({ version: 1, instances });
const entry = (over: Record<string, unknown> = {}) => ({
  name: 'blog',
  mac: MAC,
  address: ADDR,
  bridge: 'lxdbr0',
  filtered: true,
  ...over,
});

describe('identity map file', () => {
  it('derives the EUI-64 link-local address of a MAC', () => {
    expect(eui64LinkLocal(MAC)).toBe(ADDR);
    expect(eui64LinkLocal('02:00:00:00:00:01')).toBe('fe80::ff:fe00:1');
  });

  it('looks clients up by address and bridge', () => {
    const map = parseIdentityMap(
      mapText([
        entry(),
        entry({ name: 'any', mac: '00:16:3e:00:00:01', address: 'fe80::216:3eff:fe00:1', bridge: null }),
      ]),
      'm.json',
    );
    expect(map.lookup(`${ADDR}%lxdbr0`)?.name).toBe('blog');
    expect(map.lookup('FE80:0:0:0:216:3EFF:FE12:3456%lxdbr0')?.name).toBe('blog');
    expect(map.lookup(`${ADDR}%otherbr`)).toBeNull();
    expect(map.lookup('fe80::216:3eff:fe00:1%whatever')?.name).toBe('any');
    expect(map.lookup('fe80::9%lxdbr0')).toBeNull();
    expect(map.lookup('127.0.0.1')).toBeNull();
  });

  it.each([
    { name: 'not JSON', text: '{', err: /m\.json: not JSON/ },
    {
      name: 'wrong version',
      text: JSON.stringify({ version: 2, instances: [] }),
      err: /expected \{"version": 1/,
    },
    { name: 'bad name', text: mapText([entry({ name: 'no spaces' })]), err: /instances\[0\]\.name/ },
    { name: 'bad MAC', text: mapText([entry({ mac: '00:16:3e:12:34' })]), err: /instances\[0\]\.mac/ },
    {
      name: 'address not of the MAC',
      text: mapText([entry({ address: 'fe80::1' })]),
      err: /not the EUI-64 address of/,
    },
    {
      name: 'filtered missing',
      text: mapText([entry({ filtered: undefined })]),
      err: /filtered: expected true or false/,
    },
  ])('refuses $name', ({ text, err }) => {
    expect(() => parseIdentityMap(text, 'm.json')).toThrow(err);
  });
});

describe('per-container grants', () => {
  const config = configSchema.parse({
    listen: ['127.0.0.1:3128'],
    allow: ['common.test'],
    containers: { blog: { allow: ['.blog-extra.test'] }, shop: { allow: ['shop.test'] } },
  });
  const client = { address: ADDR, zone: 'lxdbr0' };
  // The client as the server tags a connection from it, on an unzoned listener.
  const info = tagClient({ remoteAddress: `${ADDR}%lxdbr0` } as Socket, undefined);
  const decide = (filtered: boolean, host: string, policy = compilePolicy(config)) => {
    const map = parseIdentityMap(mapText([entry({ filtered })]), 'm.json');
    return policy.decide({ client, method: 'GET', host, port: 80, identity: identify(map, info) });
  };

  it('grants a filtered container its own names', () => {
    expect(decide(true, 'a.blog-extra.test')).toMatchObject({
      verdict: 'allow',
      reason: 'allowlisted',
      rule: 'containers.blog: .blog-extra.test',
    });
    expect(decide(true, 'common.test')).toMatchObject({ verdict: 'allow', rule: 'common.test' });
  });

  it("never grants on an advisory identity, another container's list, or an unknown client", () => {
    expect(decide(false, 'a.blog-extra.test')).toMatchObject({ verdict: 'deny', reason: 'not_allowlisted' });
    expect(decide(true, 'shop.test')).toMatchObject({ verdict: 'deny', reason: 'not_allowlisted' });
    const none = compilePolicy(config);
    const identity = identify(EMPTY_IDENTITY, info);
    expect(
      none.decide({ client, method: 'GET', host: 'a.blog-extra.test', port: 80, identity }).verdict,
    ).toBe('deny');
  });

  it('turns a report-mode would-deny into an allow for the container', () => {
    const report = compilePolicy({ ...config, mode: 'report' });
    const d = decide(true, 'a.blog-extra.test', report);
    expect(d.verdict).toBe('allow');
    expect(d.verdict === 'would_deny').toBe(false);
    expect(decide(false, 'a.blog-extra.test', report).verdict === 'would_deny').toBe(true);
  });

  it('rejects a bad pattern or instance name in containers with the key', () => {
    const r = configSchema.safeParse({
      listen: ['127.0.0.1:1'],
      containers: { 'bad name': { allow: ['*.*bad'] } },
    });
    expect(r.success).toBe(false);
  });
});

describe.skipIf(skipUnless({ root: true, commands: ['ip', 'curl'] }))(
  'container identity end to end (namespace)',
  () => {
    let net: LinkLocalNetwork | undefined;
    let origin: OriginProcess;
    let proxy: ProxyProcess;
    let dir: string;
    let mapFile: string;
    let mac: string;
    let metricsPort: number;

    const writeMap = (filtered: boolean): void => {
      // Written aside and renamed over, as the watcher does.
      writeFileSync(
        `${mapFile}.tmp`,
        mapText([entry({ mac, address: eui64LinkLocal(mac), bridge: 'opsbr0', filtered })]),
      );
      renameSync(`${mapFile}.tmp`, mapFile);
    };
    const curl = async (url: string): Promise<string> => {
      const args = [
        '-s',
        '-o',
        '/dev/null',
        '-m',
        '5',
        '-w',
        '%{http_code}',
        '-x',
        `http://[fe80::1%25eth0]:${proxy.port}`,
        url,
      ];
      return net!.exec('curl', args);
    };
    const recordOf = (path: string) => proxy.waitForRecord((r) => r.path === path);

    beforeAll(async () => {
      net = createLinkLocalNetwork('ops-ctr', 'opsbr0');
      mac = execFileSync('ip', ['-n', 'ops-ctr', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }).match(
        /"address":"([0-9a-f:]{17})"/,
      )?.[1] as string;
      dir = mkdtempSync(join(tmpdir(), 'ops-identity-'));
      mapFile = join(dir, 'identity.json');
      writeMap(true);
      origin = await startOriginProcess();
      proxy = await startProxy({
        listen: ['opsbr0:0'],
        clients: ['fe80::/10'],
        ports: [origin.port],
        allow: ['origin.test'],
        containers: { blog: { allow: ['blog-extra.test'] } },
        identity: { map_file: mapFile },
        dns: { hosts: { 'origin.test': ['127.0.0.1'], 'blog-extra.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        metrics: { listen: '127.0.0.1:0' },
      });
      metricsPort = await metricsPortOf(proxy);
    }, 60_000);
    afterAll(async () => {
      await proxy?.close();
      await origin?.close();
      net?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('logs and labels the container and grants its own list', async () => {
      expect(mac).toMatch(/^[0-9a-f:]{17}$/);
      expect(await curl(`http://origin.test:${origin.port}/id-1`)).toBe('200');
      expect(await recordOf('/id-1')).toMatchObject({
        container: 'blog',
        verdict: 'allow',
        rule: 'origin.test',
      });
      expect(await curl(`http://blog-extra.test:${origin.port}/id-2`)).toBe('200');
      expect(await recordOf('/id-2')).toMatchObject({
        container: 'blog',
        verdict: 'allow',
        rule: 'containers.blog: blog-extra.test',
      });
      const text = (await httpGet(metricsPort, '/metrics')).body;
      expect(sample(text, 'cuttle_container_requests_total', { container: 'blog', verdict: 'allow' })).toBe(
        2,
      );
    });

    it('takes the grant away when the map says the address is not filtered (advisory)', async () => {
      const seen = (proxy.stderr().match(/identity map \S+: 1 instance/g) ?? []).length;
      writeMap(false);
      await proxy.waitForStderr(new RegExp(`(?:identity map \\S+: 1 instance[\\s\\S]*){${seen + 1}}`));
      expect(await curl(`http://blog-extra.test:${origin.port}/id-3`)).toBe('403');
      expect(await recordOf('/id-3')).toMatchObject({
        container: 'blog',
        verdict: 'deny',
        reason: 'not_allowlisted',
      });
    });

    it('keeps the last good map when the file turns bad', async () => {
      writeFileSync(mapFile, '{"version": 1, "instances": [{"name": "blog"}]}');
      await proxy.waitForStderr(/instances\[0\]\.mac: not a MAC address; keeping the last good map/);
      expect(await curl(`http://origin.test:${origin.port}/id-4`)).toBe('200');
      expect(await recordOf('/id-4')).toMatchObject({ container: 'blog' });
    });
  },
);
