/**
 * Both modes on one host against the private LXD daemon: `mode: bridge` plus `socket.profile` converges the bridge,
 * the table, a bridge-mode profile and a socket-mode profile in one apply; one cuttle running the generated config
 * listens on the bridge's fe80 address and on the unix socket; a container on each profile fetches an allowed
 * loopback origin, gets 403 for a denied name, and passes `verify --instance`. Names are test-only (`cps-*-TAG`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deleteContainer,
  execIn,
  LXD_TEST_TAG,
  launchContainer,
  lxc,
  lxdTestPort,
  type OriginProcess,
  type ProxyProcess,
  skipUnlessLxd,
  startOriginProcess,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hostYaml, provision } from './helpers/cli.js';

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

async function cleanupLxd(): Promise<void> {
  await deleteContainer(B.onBridge);
  await deleteContainer(B.onSocket);
  await lxc(['profile', 'delete', B.bridgeProfile]);
  await lxc(['profile', 'delete', B.socketProfile]);
  await lxc(['network', 'delete', B.bridge]);
  await lxc(['storage', 'delete', B.pool]);
  spawnSync('nft', ['delete', 'table', 'inet', B.table], { stdio: 'ignore' });
}

describe.skipIf(SKIP)('both modes serve one host: a bridge profile and a socket profile, one cuttle', () => {
  let sockDir: string;
  let sock: string;
  let origin: OriginProcess;
  let proxy: ProxyProcess | undefined;
  let host: ReturnType<typeof hostYaml>;
  let args: string[];

  beforeAll(async () => {
    await cleanupLxd();
    sockDir = mkdtempSync(join(tmpdir(), 'cps-both-'));
    sock = join(sockDir, 'cuttle.sock');
    origin = await startOriginProcess();
    const settings = {
      dns: { hosts: { 'allowed.test': ['127.0.0.1'], 'denied.test': ['127.0.0.1'] } },
      ports: [origin.port],
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      metrics: { listen: null },
    };
    host = hostYaml(`pool:
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
firewall:
  table: ${B.table}
  file: /etc/cuttle/cps.nft
`);
    args = ['--config', host.file, '--root', host.root];
    const applied = await provision(['apply', ...args]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const generated = parse(readFileSync(join(host.root, 'etc/cuttle/cuttle.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    proxy = await startProxy(generated, { listeners: 2 });
    await launchContainer(B.onBridge, [B.bridgeProfile]);
    await launchContainer(B.onSocket, [B.socketProfile], null);
  }, 240_000);

  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    if (host !== undefined) {
      await provision(['remove', ...args]);
      rmSync(host.dir, { recursive: true, force: true });
    }
    await cleanupLxd();
    if (sockDir !== undefined) rmSync(sockDir, { recursive: true, force: true });
  }, 120_000);

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
    const links = await execIn(row.container, ['ip', '-o', 'link']);
    expect(
      links.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]?.trim().replace(/@.*$/, '')),
    ).toEqual(row.interfaces);
    const ok = await execIn(row.container, [
      'timeout',
      '20',
      'wget',
      '-q',
      '-O-',
      `http://allowed.test:${origin.port}/${row.mode}`,
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`origin saw GET /${row.mode}\n`);
    const denied = await execIn(row.container, [
      'timeout',
      '20',
      'wget',
      '-S',
      '-O',
      '/dev/null',
      `http://denied.test:${origin.port}/`,
    ]);
    expect(denied.stderr).toMatch(/HTTP\/1\.1 403/);
  });

  it.each(table)('$mode: verify --instance passes every check', async (row) => {
    const r = await provision([
      'verify',
      ...args,
      '--instance',
      row.container,
      '--url',
      `http://allowed.test:${origin.port}/verify`,
    ]);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.code).toBe(0);
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
