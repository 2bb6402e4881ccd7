/**
 * `init` against the private LXD daemon on a host that `lxd init` set up (issue 15, Tests): an IPv4 bridge and a
 * profile with a running container on it stand in for `lxdbr0` and `default` (the daemon's own `default` is
 * shared with other tests). init chooses a new bridge and profile; their plan and apply leave the IPv4 bridge, the
 * used profile and `default` alone and name the container as unmanaged; a host.yaml that would rewrite them is
 * refused without --force, naming the container; where systemd is not PID 1 apply prints the command that runs
 * the proxy, and that command runs it. Names are test-only (`cpi*-TAG`).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LXD_TEST_TAG,
  launchContainer,
  lxc,
  lxcOk,
  lxdWorld,
  skipUnlessLxd,
  waitFor,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, RUNTIME_YAML } from './helpers/cli.js';

const SKIP = skipUnlessLxd();
const I = {
  pool: `cpi-pool-${LXD_TEST_TAG}`,
  v4bridge: `cpi4br${LXD_TEST_TAG}`,
  used: `cpi-used-${LXD_TEST_TAG}`,
  container: `cpi-c1-${LXD_TEST_TAG}`,
  bridge: `cpibr${LXD_TEST_TAG}`,
  profile: `cpi-prof-${LXD_TEST_TAG}`,
  table: `cpi_${LXD_TEST_TAG}`,
} as const;
const V4 = `10.254.${Number.parseInt(LXD_TEST_TAG, 16) % 250}.1/24`;

const show = async (what: string[]) => (await lxcOk(['query', ...what])).trim();

describe.skipIf(SKIP)('init on a host with an IPv4 bridge and a used profile', () => {
  const world = lxdWorld('cpi-', {
    containers: [I.container],
    profiles: [I.profile, I.used],
    networks: [I.bridge, I.v4bridge],
    pools: [I.pool],
    nftTables: [I.table],
  });
  let dir: string;
  let before: { bridge: string; used: string; dflt: string };

  beforeAll(async () => {
    dir = (await world.setUp()).dir;
    await lxcOk(['storage', 'create', I.pool, 'dir']);
    await lxcOk([
      'network',
      'create',
      I.v4bridge,
      `ipv4.address=${V4}`,
      'ipv4.nat=false',
      'ipv6.address=none',
    ]);
    await lxcOk(['profile', 'create', I.used]);
    await lxcOk(['profile', 'device', 'add', I.used, 'root', 'disk', 'path=/', `pool=${I.pool}`]);
    await lxcOk(['profile', 'device', 'add', I.used, 'eth0', 'nic', 'name=eth0', `network=${I.v4bridge}`]);
    await launchContainer(I.container, [I.used]);
    before = {
      bridge: await show([`/1.0/networks/${I.v4bridge}`]),
      used: await show([`/1.0/profiles/${I.used}`]),
      dflt: await show(['/1.0/profiles/default']),
    };
  }, 240_000);
  afterAll(() => world.tearDown(), 120_000);

  const file = (name: string) => join(dir, name);
  const args = (name: string) => ['--config', file(name), '--root', join(dir, 'root')];
  /** init's host.yaml with the test's runtime and table (the package's defaults are not installed here). */
  const finish = (text: string) =>
    `${text.replace('  allow: []\n', `  allow: [allowed.test]\n${RUNTIME_YAML}`)}firewall:\n  table: ${I.table}\n  file: /etc/cuttle/cpi.nft\n`;

  it('chooses a new bridge and profile by default, never the IPv4 bridge, the used profile or default', async () => {
    const r = await provision(['init', '--config', file('default.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = readFileSync(file('default.yaml'), 'utf8');
    expect(text).toMatch(/^bridge:\n {2}name: cuttlebr\d+\n/m);
    expect(text).toMatch(/^profile:\n {2}name: cuttle(-\d+)?\n/m);
    expect(text).toContain(`#   network ${I.v4bridge} (bridge, IPv4 ${V4}), used by profile ${I.used}`);
    expect(text).toContain(`#   profile ${I.used}, used by instance ${I.container}`);
    expect(r.stdout).toMatch(/bridge cuttlebr\d+ \(new\)/);
    expect(r.stdout).toContain(I.container);
    // An existing file is not overwritten.
    const again = await provision(['init', '--config', file('default.yaml')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists: not overwritten (--force to replace it)');
  });

  it('its plan and apply leave them alone; the container is named as unmanaged and keeps its network', async () => {
    const r = await provision([
      'init',
      '--config',
      file('host.yaml'),
      '--pool',
      I.pool,
      '--bridge',
      I.bridge,
      '--profile',
      I.profile,
    ]);
    expect(r.code).toBe(0);
    writeFileSync(file('host.yaml'), finish(readFileSync(file('host.yaml'), 'utf8')));
    const plan = await provision(['plan', ...args('host.yaml')]);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`  pool ${I.pool}: no changes`);
    expect(plan.stdout).toContain(`+ bridge ${I.bridge}: create`);
    expect(plan.stdout).toContain(`+ profile ${I.profile}: create`);
    expect(plan.stdout).not.toContain(I.v4bridge);
    expect(plan.stdout).not.toMatch(new RegExp(`profile (${I.used}|default)`));
    expect(plan.stdout).toMatch(
      new RegExp(
        `Instances not on a managed profile \\(they keep whatever network they had\\): .*${I.container}`,
      ),
    );
    const applied = await provision(['apply', ...args('host.yaml')]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(await show([`/1.0/networks/${I.v4bridge}`])).toBe(before.bridge);
    expect(await show([`/1.0/profiles/${I.used}`])).toBe(before.used);
    expect(await show(['/1.0/profiles/default'])).toBe(before.dflt);
    const state = JSON.parse(await show([`/1.0/instances/${I.container}/state`])) as { status: string };
    expect(state.status).toBe('Running');
    const verify = await provision(['verify', ...args('host.yaml')]);
    expect(verify.stdout).toMatch(new RegExp(`Instances not on a managed profile .*${I.container}`));
  }, 120_000);

  it('without systemd apply prints the command that runs the proxy, and it runs it', async () => {
    const applied = await provision(['apply', ...args('host.yaml')]);
    expect(applied.code).toBe(0);
    // Converged already: the command is printed after a change; the first apply printed it. Change a file.
    const conf = join(dir, 'root/etc/cuttle/cuttle.yaml');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}\n`);
    const again = await provision(['apply', ...args('host.yaml')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`No unit was started (the files are under --root ${join(dir, 'root')}).`);
    const run = again.stdout.trim().split('\n').at(-1)?.trim() ?? '';
    expect(run).toBe(
      `${process.execPath} --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc ${RUNTIME_YAML.split('cli: ')[1]?.trim()} run --config ${conf}`,
    );
    const [cmd, ...rest] = run.split(' ');
    const child = spawn(cmd as string, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      await waitFor(
        'the proxy',
        () => err,
        (e) => new RegExp(`listening on|retrying every second \\(listen "\\[fe80::1%${I.bridge}\\]`).test(e),
        20_000,
      );
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);

  it('a host.yaml that would rewrite the bridge and profile in use is refused without --force, naming the container', async () => {
    writeFileSync(
      file('rewrite.yaml'),
      `pool: {name: ${I.pool}, driver: dir}\nbridge: {name: ${I.v4bridge}}\nprofile: {name: ${I.used}}\nproxy:\n${RUNTIME_YAML}firewall: {table: ${I.table}, file: /etc/cuttle/cpi.nft}\n`,
    );
    const plan = await provision(['plan', ...args('rewrite.yaml')]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`~ bridge ${I.v4bridge}: update`);
    expect(plan.stdout).toContain(
      `in use by running instance(s) ${I.container}: apply changes it only with --force`,
    );
    expect(plan.stdout).toContain('~ ipv4.address: "' + V4 + '" -> "none"');
    const r = await provision(['apply', ...args('rewrite.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`bridge ${I.v4bridge} is in use by running instance(s) ${I.container}`);
    expect(r.stderr).toContain(`profile ${I.used} is in use by running instance(s) ${I.container}`);
    expect(r.stdout).toBe('');
    expect(await show([`/1.0/networks/${I.v4bridge}`])).toBe(before.bridge);
    expect(await show([`/1.0/profiles/${I.used}`])).toBe(before.used);
    expect((await lxc(['info', I.container])).stdout).toMatch(/Status: RUNNING/i);
  });
});
