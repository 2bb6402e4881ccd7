/**
 * Socket mode end to end against the private LXD daemon (issue 8, items 3 and 4): `apply` with `mode: socket` gives
 * the profile the LXD proxy device and no NIC; a busybox container launched with only that profile has no
 * interface but `lo`, fetches an allowed loopback origin through the device and the real cuttle listening on the
 * generated config's unix socket (here under a temp dir: `socket.path`), gets 403 for a denied name, and
 * `verify --instance` passes — then fails, naming the checks, once the proxy is stopped. A plan for both modes at
 * once lists the bridge and both profiles. Names are test-only (`cps-*-TAG`), removed in afterAll.
 * The origin and the proxy run in their own processes (in this sandbox a spawning process is suspended meanwhile).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  deleteContainer,
  deleteLxdObjects,
  interfacesIn,
  LXD_TEST_TAG,
  launchContainer,
  lxc,
  lxdWorld,
  originSettings,
  type ProxyProcess,
  skipUnlessLxd,
  wgetHeadersIn,
  wgetIn,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedProxyConfig, hostYaml, provision, RUNTIME_YAML, verifyPasses } from './helpers/cli.js';

const SKIP = skipUnlessLxd();
const S = {
  pool: `cps-pool-${LXD_TEST_TAG}`,
  profile: `cps-nonic-${LXD_TEST_TAG}`,
  bridgeProfile: `cps-br-${LXD_TEST_TAG}`,
  bridge: `cpsbr${LXD_TEST_TAG}`,
  container: `cps-c1-${LXD_TEST_TAG}`,
  table: `cps_cuttle_${LXD_TEST_TAG}`,
} as const;
const C = S.container;
const OBJECTS = { containers: [C], profiles: [S.profile], pools: [S.pool] };

describe.skipIf(SKIP)('socket mode: a container with no NIC, through the LXD proxy device and cuttle', () => {
  const world = lxdWorld('cps-sock-', OBJECTS);
  let sockDir: string;
  let sock: string;
  let origin: { port: number };
  let proxy: ProxyProcess | undefined;
  let host: ReturnType<typeof hostYaml>;
  let args: string[];
  let startProxy: (config: Record<string, unknown>) => Promise<ProxyProcess>;

  beforeAll(async () => {
    const w = await world.setUp();
    sockDir = w.dir;
    sock = join(sockDir, 'cuttle.sock');
    origin = w.origin;
    startProxy = (config) => w.startProxy(config);
    const settings = originSettings(w.origin, ['allowed.test', 'denied.test']);
    host = hostYaml(`mode: socket
pool:
  name: ${S.pool}
  driver: dir
profile:
  name: ${S.profile}
socket:
  path: ${sock}
proxy:
  allow: [allowed.test]
  settings: ${JSON.stringify(settings)}
${RUNTIME_YAML}firewall:
  table: ${S.table}
`);
    args = ['--config', host.file, '--root', host.root];
    w.onTearDown(() => provision(['remove', ...args]).then(() => host.remove()));
  }, 60_000);

  afterAll(() => world.tearDown(), 120_000);

  it('plans the pool, the socket-mode profile and two files: no bridge, no table', async () => {
    const r = await provision(['plan', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`+ pool ${S.pool}: create`);
    expect(r.stdout).toContain(`+ profile ${S.profile} (socket mode): create`);
    expect(r.stdout).toContain('+ devices.cuttle.listen = "tcp:127.0.0.1:3128"');
    expect(r.stdout).toContain(`+ devices.cuttle.connect = "unix:${sock}"`);
    expect(r.stdout).toContain('+ devices.cuttle.bind = "container"');
    expect(r.stdout).toContain('+ environment.HTTPS_PROXY = "http://127.0.0.1:3128"');
    expect(r.stdout).not.toMatch(/bridge |nftables|\.nft|devices\.eth0/);
  });

  it('applies, and a second plan has nothing to do', async () => {
    const applied = await provision(['apply', ...args]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const again = await provision(['plan', ...args]);
    expect(again.stdout).toContain('No changes.');
    expect(again.code).toBe(0);
    const shown = parse((await lxc(['profile', 'show', S.profile])).stdout) as {
      devices: Record<string, Record<string, string>>;
    };
    expect(Object.values(shown.devices).map((d) => d.type)).toEqual(
      expect.arrayContaining(['proxy', 'disk']),
    );
    expect(Object.values(shown.devices).some((d) => d.type === 'nic')).toBe(false);
    const unit = readFileSync(
      join(host.root, 'etc/systemd/system/cuttle.service.d/cuttle-provision.conf'),
      'utf8',
    );
    expect(unit).toContain(`ReadWritePaths=${sockDir}\n`);
    expect(unit).not.toContain('BindsTo=');
  });

  it('runs the generated proxy config on the unix socket and launches a container with only the profile', async () => {
    const generated = generatedProxyConfig(host.root);
    expect(generated.listen).toEqual([`unix:${sock}`]);
    proxy = await startProxy(generated);
    expect(existsSync(sock)).toBe(true);
    await launchContainer(C, [S.profile], null);
  }, 180_000);

  it('the container has no interface but lo', async () => {
    const r = await interfacesIn(C);
    expect(r.code).toBe(0);
    expect(r.names).toEqual(['lo']);
  });

  it("fetches an allowed origin with the profile's http_proxy (lxc exec gets environment.*)", async () => {
    const r = await wgetIn(C, `http://allowed.test:${origin.port}/sock`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('origin saw GET /sock\n');
  });

  it('gets 403 for a denied name', async () => {
    const r = await wgetHeadersIn(C, `http://denied.test:${origin.port}/`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HTTP\/1\.1 403/);
  });

  it('verify --instance passes every check', async () => {
    const r = await verifyPasses(args, C, `http://allowed.test:${origin.port}/verify`);
    for (const name of [
      `proxy answers on unix:${sock}`,
      `profile ${S.profile} keys set`,
      `${C}: no interface but lo`,
      `${C}: proxy answers at http://127.0.0.1:3128`,
      `${C}: a denied name gets 403`,
      `${C}: no default route`,
    ])
      expect(r.stdout).toMatch(new RegExp(`PASS +${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
    expect(r.stdout).not.toMatch(/bridge|firewall/);
  });

  it('verify --instance fails, naming the checks, when the proxy is stopped', async () => {
    await proxy?.stop();
    const r = await provision(['verify', ...args, '--instance', C]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +proxy answers on unix:\S+ /);
    expect(r.stdout).toMatch(new RegExp(`FAIL +${C}: proxy answers at http://127\\.0\\.0\\.1:3128 `));
    expect(r.stdout).toMatch(new RegExp(`FAIL +${C}: a denied name gets 403 `));
    expect(r.stdout).toMatch(new RegExp(`PASS +${C}: no interface but lo `));
  });

  it('a plan for both modes at once: the bridge, the bridge profile with its NIC, the socket profile', async () => {
    const both = hostYaml(`pool:
  name: ${S.pool}
  driver: dir
bridge:
  name: ${S.bridge}
profile:
  name: ${S.bridgeProfile}
socket:
  path: ${sock}
  profile: ${S.profile}
proxy:
${RUNTIME_YAML}firewall:
  table: ${S.table}
`);
    try {
      const r = await provision(['plan', '--config', both.file, '--root', both.root]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`+ bridge ${S.bridge}: create`);
      expect(r.stdout).toContain(`+ profile ${S.bridgeProfile}: create`);
      expect(r.stdout).toContain(`+ devices.eth0.network = "${S.bridge}"`);
      // The socket profile exists already (applied above) and only its cloud-init/env stay the same.
      expect(r.stdout).toContain(`  profile ${S.profile} (socket mode): no changes`);
      // The proxy config listens on both.
      expect(r.stdout).toContain(`"[fe80::1%${S.bridge}]:3128"`);
      expect(r.stdout).toContain(`unix:${sock}`);
    } finally {
      rmSync(both.dir, { recursive: true, force: true });
    }
  });

  it('a NIC put on the socket-mode profile is planned away and removed by apply', async () => {
    // Without instances using the profile: a NIC added to it would be hot-plugged into them.
    await deleteContainer(C);
    expect((await lxc(['profile', 'device', 'add', S.profile, 'eth9', 'nic', 'nictype=p2p'])).code).toBe(0);
    const plan = await provision(['plan', ...args]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`~ profile ${S.profile} (socket mode): update`);
    expect(plan.stdout).toContain('- devices.eth9 (was "nic")');
    expect((await provision(['apply', ...args])).code).toBe(0);
    expect((await provision(['plan', ...args])).code).toBe(0);
    expect((await lxc(['profile', 'device', 'show', S.profile])).stdout).not.toContain('eth9');
  });

  it('remove takes the files away; everything the test created goes away', async () => {
    const r = await provision(['remove', ...args]);
    expect(r.code).toBe(0);
    expect(existsSync(join(host.root, 'etc/cuttle/cuttle.yaml'))).toBe(false);
    await deleteLxdObjects(OBJECTS);
    for (const what of [
      ['info', C],
      ['profile', 'show', S.profile],
      ['storage', 'show', S.pool],
    ])
      expect((await lxc(what)).code, what.join(' ')).not.toBe(0);
    expect(spawnSync('nft', ['list', 'table', 'inet', S.table]).status).not.toBe(0);
  });
});
