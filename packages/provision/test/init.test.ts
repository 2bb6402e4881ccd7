/** `init`'s choices as a pure function of what LXD holds, and the in-use guard and unmanaged list of the plan. */
import { describe, expect, it } from 'vitest';
import { loadHostConfig } from '../src/host-config/load-host-config.js';
import { manualStartCommands } from '../src/render/manual-start.js';
import { generatedConfigChecks } from '../src/render/proxy-config.js';
import type { LxdInstance, LxdNetwork, LxdProfile } from '../src/resources/facts.js';
import { type InitFacts, initialHostYaml } from '../src/resources/init.js';
import { inUse, planHost } from '../src/resources/plan-host.js';
import { hostFacts } from './helpers/facts.js';

const lxdbr0: LxdNetwork = {
  name: 'lxdbr0',
  type: 'bridge',
  managed: true,
  description: '',
  config: { 'ipv4.address': '10.254.77.1/24', 'ipv6.address': 'none' },
  used_by: ['/1.0/profiles/default', '/1.0/instances/web'],
};
const dflt: LxdProfile = {
  name: 'default',
  description: 'Default LXD profile',
  config: {},
  devices: {
    root: { type: 'disk', path: '/', pool: 'fast' },
    eth0: { type: 'nic', network: 'lxdbr0', name: 'eth0' },
  },
  used_by: ['/1.0/instances/web'],
};
const web: LxdInstance = {
  name: 'web',
  status: 'Running',
  profiles: ['default'],
  expanded_devices: { eth0: { type: 'nic', network: 'lxdbr0', name: 'eth0' } },
};
const lxdInit: InitFacts = {
  socketPath: '/var/snap/lxd/common/lxd/unix.socket',
  pools: [
    { name: 'big', driver: 'dir', config: { source: '/srv/big' }, description: '', used_by: [] },
    {
      name: 'fast',
      driver: 'zfs',
      config: { source: 'fast', 'volatile.initial_source': '/dev/sdb' },
      description: '',
      used_by: ['/1.0/profiles/default', '/1.0/instances/web'],
    },
  ],
  networks: [lxdbr0],
  profiles: [dflt],
  instances: [web],
};

describe('init on a host set up by lxd init', () => {
  const r = initialHostYaml(lxdInit);
  const config = loadHostConfig(r.text, 'host.yaml', { check: generatedConfigChecks });

  it('reuses the default profile’s pool with its source, and chooses a new bridge and profile', () => {
    expect(config.pool).toMatchObject({ name: 'fast', driver: 'zfs', source: '/dev/sdb' });
    expect(config.bridge.name).toBe('cuttlebr0');
    expect(config.profile.name).toBe('cuttle');
    expect(r).toMatchObject({
      pool: { name: 'fast', existing: true },
      bridge: { name: 'cuttlebr0', existing: false },
      profile: { name: 'cuttle', existing: false },
      unmanaged: ['web'],
    });
  });

  it('lists what it found and who uses it, as comments', () => {
    expect(r.text).toContain(
      '#   network lxdbr0 (bridge, IPv4 10.254.77.1/24), used by profile default, instance web',
    );
    expect(r.text).toContain('#   profile default, used by instance web');
    expect(r.text).toContain('#   pool fast (zfs), used by profile default, instance web');
    expect(r.text).toContain('keep whatever network they had: web.');
  });

  it('its plan leaves lxdbr0 and default alone and names web as unmanaged', () => {
    const facts = hostFacts({
      lxd: {
        pools: {
          fast: { name: 'fast', driver: 'zfs', config: lxdInit.pools[1]?.config ?? {}, description: '' },
        },
        networks: { lxdbr0, cuttlebr0: null },
        profiles: { default: dflt, cuttle: null },
        instances: [web],
      },
    });
    const plan = planHost(facts, config);
    const ids = plan.plans.map((p) => p.id);
    expect(ids).not.toContain('bridge lxdbr0');
    expect(ids).not.toContain('profile default');
    expect(plan.plans.find((p) => p.id === 'pool fast')?.action).toBe('none');
    expect(plan.plans.find((p) => p.id === 'bridge cuttlebr0')?.action).toBe('create');
    expect(inUse(plan.plans)).toEqual([]);
    expect(plan.unmanaged).toEqual(['web']);
  });

  it('takes the next free names, reuses its own, and honours the names it is given', () => {
    const foreign = { ...lxdbr0, name: 'cuttlebr0', description: 'someone else' };
    const ours = { ...lxdbr0, name: 'cuttlebr1', description: 'managed by cuttle-provision' };
    const other: LxdProfile = { ...dflt, name: 'cuttle', description: 'not ours' };
    const again = initialHostYaml({ ...lxdInit, networks: [lxdbr0, foreign, ours], profiles: [dflt, other] });
    expect(again.bridge).toEqual({ name: 'cuttlebr1', existing: true });
    expect(again.profile).toEqual({ name: 'cuttle-1', existing: false });
    const named = initialHostYaml(lxdInit, {
      bridge: 'br7',
      profile: 'p7',
      pool: 'big',
      lxdSocket: '/s.sock',
    });
    expect(loadHostConfig(named.text, 'h.yaml')).toMatchObject({
      lxd_socket: '/s.sock',
      pool: { name: 'big', driver: 'dir', source: '/srv/big' },
      bridge: { name: 'br7' },
      profile: { name: 'p7' },
    });
  });

  it('an empty daemon gets a new dir pool; socket mode has no bridge', () => {
    const empty = initialHostYaml({ socketPath: '/x', pools: [], networks: [], profiles: [], instances: [] });
    expect(loadHostConfig(empty.text, 'h.yaml').pool).toMatchObject({ name: 'cuttle', driver: 'dir' });
    expect(empty.text).toContain('#   pools: none (a new dir pool is created)');
    const sock = initialHostYaml(lxdInit, { mode: 'socket' });
    expect(sock.bridge).toBeNull();
    expect(loadHostConfig(sock.text, 'h.yaml').mode).toBe('socket');
  });

  it('picks a MAC no network pins', () => {
    const pinned = { ...lxdbr0, config: { ...lxdbr0.config } };
    const first = loadHostConfig(initialHostYaml(lxdInit).text, 'h.yaml').bridge.hwaddr;
    pinned.config['bridge.hwaddr'] = first;
    expect(
      loadHostConfig(initialHostYaml({ ...lxdInit, networks: [pinned] }).text, 'h.yaml').bridge.hwaddr,
    ).not.toBe(first);
  });
});

describe('a bridge or profile in use by running instances', () => {
  const config = loadHostConfig(
    'bridge: {name: lxdbr0}\nprofile: {name: default}\npool: {name: fast, driver: dir}\n',
    'h.yaml',
  );
  const stopped: LxdInstance = { ...web, name: 'old', status: 'Stopped' };
  const facts = hostFacts({
    lxd: { networks: { lxdbr0 }, profiles: { default: dflt }, instances: [web, stopped] },
  });
  const plan = planHost(facts, config);

  it('is named with its running users (not stopped ones) and needs --force', () => {
    expect(inUse(plan.plans).map((p) => [p.id, p.inUseBy])).toEqual([
      ['bridge lxdbr0', ['web']],
      ['profile default', ['web']],
    ]);
    expect(plan.plans.find((p) => p.id === 'bridge lxdbr0')?.note).toContain(
      'in use by running instance(s) web: apply changes it only with --force',
    );
    expect(plan.unmanaged).toEqual([]);
  });
});

describe('without systemd', () => {
  it('the commands load the table, make the socket directory and run the proxy from the files under root', () => {
    const both = loadHostConfig('socket: {profile: s, path: /run/cuttle/c.sock}\n', 'h.yaml');
    expect(manualStartCommands(both, '/tmp/r')).toEqual([
      '/usr/sbin/nft -f /tmp/r/etc/cuttle/cuttle.nft',
      'mkdir -p /run/cuttle',
      'cuttle-provision identity --watch --config /etc/cuttle/host.yaml &',
      '/usr/lib/cuttle/node --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc /usr/lib/cuttle/cuttle.mjs run --config /tmp/r/etc/cuttle/cuttle.yaml',
    ]);
    expect(manualStartCommands(loadHostConfig('mode: socket\n', 'h.yaml'))).toEqual([
      'mkdir -p /run/cuttle',
      '/usr/lib/cuttle/node --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml',
    ]);
  });

  it('the identity watcher runs before the proxy where host.yaml has a guard or an identity map', () => {
    const map = loadHostConfig(
      'mode: socket\nproxy: {settings: {identity: {map_file: /run/cuttle/id.json, socket_dir: /run/cuttle/c}}}\n',
      'h.yaml',
    );
    expect(manualStartCommands(map, '/', '/srv/host.yaml')).toEqual([
      'mkdir -p /run/cuttle',
      'cuttle-provision identity --watch --config /srv/host.yaml &',
      '/usr/lib/cuttle/node --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml',
    ]);
    const noLoad = loadHostConfig('firewall: {load: false}\n', 'h.yaml');
    expect(manualStartCommands(noLoad).join('\n')).not.toContain('identity');
  });
});
