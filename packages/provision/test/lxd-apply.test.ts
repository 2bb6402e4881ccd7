import { rmSync } from 'node:fs';
import { CUTTLE_MAIN, LXD_TEST_SOCKET, lxc, lxcOk, skipUnlessLxd } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LxdClient } from '../src/lxd/client.js';
import { dropTables, hostYaml, provision, RUNTIME_YAML, T, TEST_HOST_YAML } from './helpers/cli.js';

const SKIP = skipUnlessLxd();

async function cleanup(): Promise<void> {
  await lxc(['delete', '--force', `${T.container}`]);
  await lxc(['profile', 'delete', `${T.profile}`]);
  await lxc(['network', 'delete', `${T.bridge}`]);
  await lxc(['storage', 'delete', `${T.pool}`]);
  await lxc(['storage', 'delete', `${T.zpool}`]);
  dropTables(T.table);
}

describe.skipIf(SKIP)('plan/apply against the private LXD daemon', () => {
  const host = hostYaml(TEST_HOST_YAML);
  const args = ['--config', host.file, '--root', host.root];
  const client = SKIP ? (undefined as never) : new LxdClient({ socketPath: LXD_TEST_SOCKET });

  beforeAll(async () => {
    await cleanup();
    // A seed-style bridge (ipv6.address none) that apply must converge.
    await lxcOk([
      'network',
      'create',
      `${T.bridge}`,
      'ipv4.address=none',
      'ipv6.address=none',
      'user.keep=me',
    ]);
  });
  afterAll(async () => {
    await cleanup();
    rmSync(host.dir, { recursive: true, force: true });
  });

  it('plan lists every resource to create and exits 1', async () => {
    const r = await provision(['plan', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`+ pool ${T.pool}: create`);
    expect(r.stdout).toContain(`~ bridge ${T.bridge}: update`);
    expect(r.stdout).toContain('~ ipv6.address: "none" -> "fe80::1/64"');
    expect(r.stdout).toContain(`+ profile ${T.profile}: create`);
    const json = await provision(['plan', ...args, '--json']);
    const plan = JSON.parse(json.stdout) as {
      changes_pending: boolean;
      resources: { id: string; action: string }[];
    };
    expect(plan.changes_pending).toBe(true);
    expect(plan.resources.map((r) => [r.id, r.action])).toContainEqual([`bridge ${T.bridge}`, 'update']);
  });

  it('apply converges a seed-style bridge in one request, then plan and apply change nothing', async () => {
    const r = await provision(['apply', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Converged.');
    const net = (await client.request<{ config: Record<string, string> }>('GET', `/1.0/networks/${T.bridge}`))
      .metadata;
    expect(net.config).toMatchObject({
      'ipv4.address': 'none',
      'ipv6.address': 'fe80::1/64',
      'ipv6.dhcp': 'false',
      'ipv6.nat': 'false',
      'ipv6.routing': 'false',
      'ipv6.firewall': 'false',
      'dns.mode': 'none',
      'raw.dnsmasq': 'port=0',
      'bridge.hwaddr': '00:16:3e:cf:01:01',
      'user.keep': 'me',
    });
    const plan = await provision(['plan', ...args]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('No changes.');
    const again = await provision(['apply', ...args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('No changes.\n');
  });

  it('the profile carries the proxy environment, cloud-init, the filtered NIC and the root disk', async () => {
    const p = (
      await client.request<{
        config: Record<string, string>;
        devices: Record<string, Record<string, string>>;
      }>('GET', `/1.0/profiles/${T.profile}`)
    ).metadata;
    const url = `http://[fe80::1%eth0]:${T.proxyPort}`;
    expect(p.config).toMatchObject({
      'user.network_mode': 'link-local',
      'security.devlxd': 'false',
      'environment.http_proxy': url,
      'environment.https_proxy': url,
      'environment.HTTP_PROXY': url,
      'environment.HTTPS_PROXY': url,
      'environment.no_proxy': 'localhost,127.0.0.1,::1',
    });
    expect(p.config['cloud-init.user-data']).toMatch(/^#cloud-config\n/);
    expect(p.devices.eth0).toEqual({
      type: 'nic',
      network: `${T.bridge}`,
      name: 'eth0',
      'security.mac_filtering': 'true',
      'security.port_isolation': 'true',
    });
    expect(p.devices.root).toEqual({ type: 'disk', path: '/', pool: `${T.pool}` });
  });

  it('keeps keys and devices it does not manage, and reverts drift of the ones it does', async () => {
    await lxcOk(['profile', 'set', `${T.profile}`, 'user.mine', 'x']);
    await lxcOk(['profile', 'set', `${T.profile}`, 'security.devlxd', 'true']);
    await lxcOk([
      'profile',
      'device',
      'add',
      `${T.profile}`,
      'tmpfs',
      'disk',
      'source=/tmp',
      'path=/mnt/host-tmp',
    ]);
    const plan = await provision(['plan', ...args]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('~ security.devlxd: "true" -> "false"');
    expect(plan.stdout).not.toContain('user.mine');
    expect((await provision(['apply', ...args])).code).toBe(0);
    const show = await lxcOk(['profile', 'show', `${T.profile}`]);
    expect(show).toContain('user.mine: x');
    expect(show).toContain('security.devlxd: "false"');
    expect(show).toContain('path: /mnt/host-tmp');
    await lxcOk(['profile', 'device', 'remove', `${T.profile}`, 'tmpfs']);
  });

  it('changes bridge.hwaddr on a bridge holding fe80::1 (two writes) and keeps the address', async () => {
    const changed = hostYaml(TEST_HOST_YAML.replace('00:16:3e:cf:01:01', '00:16:3e:cf:01:02'));
    const cargs = ['--config', changed.file, '--root', host.root];
    const plan = await provision(['plan', ...cargs]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('~ bridge.hwaddr: "00:16:3e:cf:01:01" -> "00:16:3e:cf:01:02"');
    expect(plan.stdout).toContain('two writes');
    const r = await provision(['apply', ...cargs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { execFileSync } = await import('node:child_process');
    const link = execFileSync('ip', ['-6', 'addr', 'show', 'dev', `${T.bridge}`], { encoding: 'utf8' });
    expect(link).toContain('inet6 fe80::1/64 scope link');
    expect(execFileSync('ip', ['link', 'show', 'dev', `${T.bridge}`], { encoding: 'utf8' })).toContain(
      '00:16:3e:cf:01:02',
    );
    // Back to the test's MAC for the following tests.
    expect((await provision(['apply', ...args])).code).toBe(0);
    rmSync(changed.dir, { recursive: true, force: true });
  });

  it('never replaces a pool: another driver is "replace required", plan exits 3 and apply changes nothing', async () => {
    const other = hostYaml(
      TEST_HOST_YAML.replace('driver: dir', 'driver: btrfs').replace(
        `name: ${T.profile}`,
        `name: ${T.profile}-x`,
      ),
    );
    const oargs = ['--config', other.file, '--root', host.root];
    const plan = await provision(['plan', ...oargs]);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain(`! pool ${T.pool}: replace-required`);
    expect(plan.stdout).toContain('replace required');
    const r = await provision(['apply', ...oargs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`nothing changed: pool ${T.pool}: replace required`);
    expect((await lxc(['profile', 'show', `${T.profile}-x`])).code).not.toBe(0);
    expect(await lxcOk(['storage', 'show', `${T.pool}`])).toContain('driver: dir');
    rmSync(other.dir, { recursive: true, force: true });
  });

  it('a zfs pool goes as far as the kernel: plan warns, apply reports LXD refusing for want of the module', async () => {
    const z = hostYaml(
      TEST_HOST_YAML.replace(
        `name: ${T.pool}\n  driver: dir`,
        `name: ${T.zpool}\n  driver: zfs\n  source: ""`,
      ),
    );
    const zargs = ['--config', z.file, '--root', host.root];
    const plan = await provision(['plan', ...zargs]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`+ pool ${T.zpool}: create`);
    expect(plan.stdout).toContain('zfs kernel module is not loaded');
    const r = await provision(['apply', ...zargs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`pool ${T.zpool}: LXD refused to create a zfs pool: .*zfs.*module`));
    expect(r.stderr).toContain('The zfs kernel module is not loaded on this host');
    expect((await lxc(['storage', 'show', `${T.zpool}`])).code).not.toBe(0);
    rmSync(z.dir, { recursive: true, force: true });
  });

  it("plan is blocked when the unit's Node or CLI is missing, naming the host.yaml key; apply changes nothing", async () => {
    const missing = hostYaml(
      TEST_HOST_YAML.replace(RUNTIME_YAML, `  node: /opt/cpv-missing/node\n  cli: ${CUTTLE_MAIN}\n`),
    );
    const margs = ['--config', missing.file, '--root', missing.root];
    const plan = await provision(['plan', ...margs]);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('! unit runtime: blocked');
    expect(plan.stdout).toContain(
      'proxy.node: the Node runtime /opt/cpv-missing/node does not exist (install the cuttle package or set proxy.node)',
    );
    const r = await provision(['apply', ...margs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nothing changed: unit runtime: proxy.node');
    missing.remove();
  });

  it('a zfs pool on a missing block device is blocked before anything runs', async () => {
    const z = hostYaml(
      TEST_HOST_YAML.replace(`name: ${T.pool}\n  driver: dir`, `name: ${T.zpool}\n  driver: zfs`),
    );
    const plan = await provision(['plan', '--config', z.file, '--root', host.root]);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('source /dev/system/lxd-zfs does not exist');
    rmSync(z.dir, { recursive: true, force: true });
  });
});
