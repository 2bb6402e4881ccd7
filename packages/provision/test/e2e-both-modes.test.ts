/**
 * Both modes on one host against the private LXD daemon: `mode: bridge` plus `socket.profile` converges the bridge,
 * the table, a bridge-mode profile and a socket-mode profile in one apply; one cuttle running the generated config
 * listens on the bridge's fe80 address and on the unix socket; a container on each profile fetches an allowed
 * loopback origin, gets 403 for a denied name, and passes `verify --instance`. Names are test-only (`cps-*-TAG`).
 */
import { join } from 'node:path';
import {
  interfacesIn,
  LXD_TEST_TAG,
  launchContainer,
  lxdTestPort,
  lxdWorld,
  originSettings,
  type ProxyProcess,
  skipUnlessLxd,
  wgetHeadersIn,
  wgetIn,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generatedProxyConfig,
  hostYaml,
  provision,
  RUNTIME_YAML,
  syncGuard,
  verifyPasses,
} from './helpers/cli.js';

const SKIP = skipUnlessLxd();
const B = {
  pool: `cps-bpool-${LXD_TEST_TAG}`,
  bridge: `cpsbr${LXD_TEST_TAG}`,
  bridgeProfile: `cps-bprof-${LXD_TEST_TAG}`,
  socketProfile: `cps-sprof-${LXD_TEST_TAG}`,
  onBridge: `cps-cb-${LXD_TEST_TAG}`,
  onSocket: `cps-cs-${LXD_TEST_TAG}`,
  table: `cps_both_${LXD_TEST_TAG}`,
  port: lxdTestPort(7),
} as const;

describe.skipIf(SKIP)('both modes serve one host: a bridge profile and a socket profile, one cuttle', () => {
  const world = lxdWorld('cps-both-', {
    containers: [B.onBridge, B.onSocket],
    profiles: [B.bridgeProfile, B.socketProfile],
    networks: [B.bridge],
    pools: [B.pool],
    nftTables: [B.table],
  });
  let sock: string;
  let origin: { port: number };
  let proxy: ProxyProcess | undefined;
  let args: string[];

  beforeAll(async () => {
    const w = await world.setUp();
    sock = join(w.dir, 'cuttle.sock');
    origin = w.origin;
    const settings = originSettings(w.origin, ['allowed.test', 'denied.test']);
    const host = hostYaml(`pool:
  name: ${B.pool}
  driver: dir
bridge:
  name: ${B.bridge}
  hwaddr: 00:16:3e:cf:05:01
profile:
  name: ${B.bridgeProfile}
socket:
  path: ${sock}
  profile: ${B.socketProfile}
proxy:
  port: ${B.port}
  allow: [allowed.test]
  settings: ${JSON.stringify(settings)}
${RUNTIME_YAML}firewall:
  table: ${B.table}
  file: /etc/cuttle/cps.nft
`);
    args = ['--config', host.file, '--root', host.root];
    w.onTearDown(() => provision(['remove', ...args]).then(() => host.remove()));
    const applied = await provision(['apply', ...args]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const generated = generatedProxyConfig(host.root);
    proxy = await w.startProxy(generated, { listeners: 2 });
    await launchContainer(B.onBridge, [B.bridgeProfile]);
    await launchContainer(B.onSocket, [B.socketProfile], null);
    await syncGuard(B.table, B.bridge);
  }, 240_000);

  afterAll(() => world.tearDown(), 120_000);

  it('plan after apply has nothing to do; the proxy listens on the bridge and the socket', async () => {
    const r = await provision(['plan', ...args]);
    expect(r.stdout).toContain('No changes.');
    expect(r.code).toBe(0);
    expect(proxy?.endpoints.join(' ')).toContain(`%${B.bridge}]:${B.port}`);
    expect(proxy?.endpoints.join(' ')).toContain(sock);
  });

  const table = [
    { mode: 'bridge', container: B.onBridge, interfaces: ['lo', 'eth0'] },
    { mode: 'socket', container: B.onSocket, interfaces: ['lo'] },
  ];

  it.each(table)('$mode: interfaces $interfaces, allowed origin fetched, denied name 403', async (row) => {
    expect((await interfacesIn(row.container)).names).toEqual(row.interfaces);
    const ok = await wgetIn(row.container, `http://allowed.test:${origin.port}/${row.mode}`);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`origin saw GET /${row.mode}\n`);
    const denied = await wgetHeadersIn(row.container, `http://denied.test:${origin.port}/`);
    expect(denied.stderr).toMatch(/HTTP\/1\.1 403/);
  });

  it.each(table)('$mode: verify --instance passes every check', async (row) => {
    const r = await verifyPasses(args, row.container, `http://allowed.test:${origin.port}/verify`);
    expect(r.stdout).toContain(`PASS  profile ${B.bridgeProfile} keys set`);
    expect(r.stdout).toMatch(/PASS +proxy answers on unix:/);
    expect(r.stdout).toMatch(new RegExp(`PASS +firewall table inet ${B.table} loaded`));
    expect(r.stdout).toMatch(
      new RegExp(
        row.mode === 'socket'
          ? `PASS +${row.container}: no interface but lo`
          : `PASS +${row.container}: nothing answers on`,
      ),
    );
  });
});
