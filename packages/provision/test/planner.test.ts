/**
 * The planner as a pure function of facts: every rule a row, no daemon, no files, no nft. The last block applies a
 * plan to an in-memory host and plans again (nothing left), the property apply relies on.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadHostConfig } from '../src/host-config/load-host-config.js';
import { applyPlans } from '../src/resources/apply.js';
import { type FactReaders, gatherFacts, type HostFacts, type LxdNetwork } from '../src/resources/facts.js';
import { planHost, planRemoval } from '../src/resources/plan-host.js';
import type { ResourcePlan } from '../src/resources/types.js';
import { hostFacts, memoryEffects } from './helpers/facts.js';

const BASE: Record<string, unknown> = {
  pool: { name: 'p1', driver: 'dir' },
  bridge: { name: 'br9', hwaddr: '00:16:3E:00:00:09' },
  profile: { name: 'prof' },
  proxy: { allow: ['allowed.test'] },
  firewall: { table: 't9', file: '/etc/cuttle/t9.nft' },
};
/** host.yaml: BASE with sections of `over` merged over its sections (through the real loader). */
function cfg(over: Record<string, unknown> = {}) {
  const merged: Record<string, unknown> = { ...BASE };
  for (const [k, v] of Object.entries(over))
    merged[k] = typeof v === 'object' && v !== null ? { ...(BASE[k] as object), ...v } : v;
  return loadHostConfig(stringify(merged), 'host.yaml');
}
const config = cfg();

const BRIDGE_KEYS = {
  'ipv4.address': 'none',
  'ipv6.address': 'fe80::1/64',
  'ipv6.dhcp': 'false',
  'ipv6.nat': 'false',
  'ipv6.routing': 'false',
  'ipv6.firewall': 'false',
  'dns.mode': 'none',
  'raw.dnsmasq': 'port=0',
  'bridge.hwaddr': '00:16:3e:00:00:09',
};
const network = (c: Record<string, string>, over: Partial<LxdNetwork> = {}): LxdNetwork => ({
  name: 'br9',
  type: 'bridge',
  managed: true,
  description: '',
  config: c,
  ...over,
});

function find(plans: readonly ResourcePlan[], id: string): ResourcePlan {
  const p = plans.find((x) => x.id === id);
  if (p === undefined) throw new Error(`no plan ${id} in ${plans.map((x) => x.id).join(', ')}`);
  return p;
}

describe('planHost on an empty LXD', () => {
  const { plans, notes } = planHost(hostFacts(), config);

  it('creates everything in apply order, without a unit step when systemd is not PID 1', () => {
    expect(plans.map((p) => [p.id, p.action])).toEqual([
      ['unit runtime', 'none'],
      ['pool p1', 'create'],
      ['bridge br9', 'create'],
      ['profile prof', 'create'],
      ['file /etc/cuttle/cuttle.yaml', 'create'],
      ['file /etc/cuttle/t9.nft', 'create'],
      ['file /etc/systemd/system/cuttle.service.d/cuttle-provision.conf', 'create'],
      ['nftables inet t9', 'create'],
    ]);
    expect(notes.join()).toMatch(/not needed, LXD here is a deb not from backports/);
  });

  it('creates the bridge with every key in one request', () => {
    expect(find(plans, 'bridge br9').steps).toEqual([
      {
        kind: 'lxd-create',
        path: '/1.0/networks',
        body: {
          name: 'br9',
          type: 'bridge',
          config: BRIDGE_KEYS,
          description: 'managed by cuttle-provision',
        },
      },
    ]);
  });

  it('writes every file with mode 0644 and loads the table from its file', () => {
    for (const p of plans.filter((x) => x.id.startsWith('file ')))
      expect(p.steps).toMatchObject([{ kind: 'write-file', mode: 0o644 }]);
    expect(find(plans, 'nftables inet t9').steps).toEqual([
      { kind: 'nft', args: ['-f', '/etc/cuttle/t9.nft'] },
    ]);
  });
});

describe('planning rules, one row each', () => {
  type Row = {
    name: string;
    facts: HostFacts;
    extra?: Record<string, unknown>;
    id: string;
    expect: Partial<ResourcePlan>;
  };
  const rows: Row[] = [
    {
      name: 'a seed-style bridge (ipv6.address none) converges in one write',
      facts: hostFacts({
        lxd: { networks: { br9: network({ 'ipv4.address': 'none', 'ipv6.address': 'none' }) } },
      }),
      id: 'bridge br9',
      expect: { action: 'update', steps: [expect.objectContaining({ kind: 'lxd-update' })] },
    },
    {
      name: 'a bridge holding its address takes two writes for a restarting key',
      facts: hostFacts({
        lxd: { networks: { br9: network({ ...BRIDGE_KEYS, 'bridge.hwaddr': '00:16:3e:00:00:08' }) } },
      }),
      id: 'bridge br9',
      expect: {
        action: 'update',
        changes: [{ key: 'bridge.hwaddr', from: '00:16:3e:00:00:08', to: '00:16:3e:00:00:09' }],
        note: expect.stringContaining('two writes'),
        steps: [
          expect.objectContaining({ kind: 'lxd-update' }),
          expect.objectContaining({ kind: 'lxd-update' }),
        ],
      },
    },
    {
      name: 'user.* keys never restart the bridge: one write',
      facts: hostFacts({ lxd: { networks: { br9: network(BRIDGE_KEYS) } } }),
      extra: { bridge: { config: { 'user.x': '1' } } },
      id: 'bridge br9',
      expect: { action: 'update', steps: [expect.objectContaining({ kind: 'lxd-update' })] },
    },
    {
      name: 'a converged bridge',
      facts: hostFacts({ lxd: { networks: { br9: network({ ...BRIDGE_KEYS, 'user.other': 'kept' }) } } }),
      id: 'bridge br9',
      expect: { action: 'none', changes: [] },
    },
    {
      name: 'without network_hwaddr the MAC is not managed and a note says how',
      facts: hostFacts({ lxd: { extensions: ['cloud_init'] } }),
      id: 'bridge br9',
      expect: { action: 'create', note: expect.stringContaining('systemd .link file') },
    },
    {
      name: 'a network that is not an LXD-managed bridge is replace-required',
      facts: hostFacts({ lxd: { networks: { br9: network({}, { managed: false, type: 'physical' }) } } }),
      id: 'bridge br9',
      expect: { action: 'replace-required', note: expect.stringContaining('not an LXD-managed bridge') },
    },
    {
      name: 'a pool with another driver is replace-required',
      facts: hostFacts({
        lxd: { pools: { p1: { name: 'p1', driver: 'btrfs', config: {}, description: '' } } },
      }),
      id: 'pool p1',
      expect: { action: 'replace-required', changes: [{ key: 'driver', from: 'btrfs', to: 'dir' }] },
    },
    {
      name: 'a zfs pool whose source LXD rewrote (volatile.initial_source) is converged',
      facts: hostFacts({
        lxd: {
          pools: {
            p1: {
              name: 'p1',
              driver: 'zfs',
              config: { source: 'p1', 'volatile.initial_source': '/dev/vg/lv' },
              description: '',
            },
          },
        },
      }),
      extra: { pool: { driver: 'zfs', source: '/dev/vg/lv' } },
      id: 'pool p1',
      expect: { action: 'none' },
    },
    {
      name: 'a zfs pool on another source is replace-required',
      facts: hostFacts({
        lxd: { pools: { p1: { name: 'p1', driver: 'zfs', config: { source: 'other' }, description: '' } } },
      }),
      extra: { pool: { driver: 'zfs', source: '/dev/vg/lv' } },
      id: 'pool p1',
      expect: { action: 'replace-required' },
    },
    {
      name: 'a zfs pool on a missing device is blocked',
      facts: hostFacts({ paths: { '/sys/module/zfs': true } }),
      extra: { pool: { driver: 'zfs' } },
      id: 'pool p1',
      expect: { action: 'blocked', note: expect.stringContaining('/dev/system/lxd-zfs does not exist') },
    },
    {
      name: 'with lvm.create the volume is created first',
      facts: hostFacts({ paths: { '/sys/module/zfs': true } }),
      extra: { pool: { driver: 'zfs', lvm: { create: true } } },
      id: 'pool p1',
      expect: {
        action: 'create',
        steps: [
          { kind: 'run', argv: ['lvcreate', '-L', '30g', '-n', 'lxd-zfs', 'system'] },
          expect.objectContaining({ kind: 'lxd-create', path: '/1.0/storage-pools' }),
        ],
      },
    },
    {
      name: 'a zfs pool without the kernel module warns',
      facts: hostFacts({ paths: { '/dev/vg/lv': true } }),
      extra: { pool: { driver: 'zfs', source: '/dev/vg/lv' } },
      id: 'pool p1',
      expect: { action: 'create', note: expect.stringContaining('zfs kernel module is not loaded') },
    },
    {
      name: 'a loaded table whose file changes is loaded again',
      facts: hostFacts({ nftTables: { 'inet t9': true } }),
      id: 'nftables inet t9',
      expect: {
        action: 'update',
        changes: [{ key: 'loaded', from: 'yes (older file)', to: 'nft -f /etc/cuttle/t9.nft' }],
      },
    },
    {
      name: 'files go under --root, and so does the table file nft reads',
      facts: hostFacts({ root: '/tmp/r' }),
      id: 'nftables inet t9',
      expect: { steps: [{ kind: 'nft', args: ['-f', '/tmp/r/etc/cuttle/t9.nft'] }] },
    },
    {
      name: 'a hand-written file is overwritten with a note, and its mode set',
      facts: hostFacts({ files: { '/etc/cuttle/t9.nft': { content: 'x', mode: 0o600 } } }),
      id: 'file /etc/cuttle/t9.nft',
      expect: {
        action: 'update',
        note: expect.stringContaining('not written by cuttle-provision'),
        changes: expect.arrayContaining([{ key: 'mode', from: '0600', to: '0644' }]),
      },
    },
    {
      name: 'systemd as PID 1: a changed unit is reloaded, enabled and (re)started',
      facts: hostFacts({ systemd: true }),
      id: 'unit cuttle.service',
      expect: {
        steps: [
          { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
          { kind: 'run', argv: ['systemctl', 'enable', 'cuttle.service'] },
          { kind: 'run', argv: ['systemctl', 'reload-or-restart', 'cuttle.service'] },
        ],
      },
    },
    {
      name: 'systemd as PID 1 with the bridge guard: the identity watcher is enabled and restarted',
      facts: hostFacts({ systemd: true }),
      id: 'unit cuttle-identity.service',
      expect: {
        action: 'update',
        steps: [
          { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
          { kind: 'run', argv: ['systemctl', 'enable', 'cuttle-identity.service'] },
          { kind: 'run', argv: ['systemctl', 'restart', 'cuttle-identity.service'] },
        ],
      },
    },
    {
      name: 'socket mode with an identity map (per-container sockets): the watcher too',
      facts: hostFacts({ systemd: true }),
      extra: {
        mode: 'socket',
        proxy: { settings: { identity: { map_file: '/run/cuttle/id.json', socket_dir: '/run/cuttle/c' } } },
      },
      id: 'unit cuttle-identity.service',
      expect: { action: 'update' },
    },
    {
      name: "the proxy's drop-in wants the watcher where there is one",
      facts: hostFacts(),
      id: 'file /etc/systemd/system/cuttle.service.d/cuttle-provision.conf',
      expect: {
        changes: [
          expect.objectContaining({ to: expect.stringContaining('+ Wants=cuttle-identity.service\n') }),
        ],
      },
    },
    {
      name: 'a missing Node blocks the plan, naming proxy.node',
      facts: hostFacts({ paths: { '/usr/lib/cuttle/node': false } }),
      id: 'unit runtime',
      expect: {
        action: 'blocked',
        changes: [{ key: 'proxy.node', from: undefined, to: '/usr/lib/cuttle/node' }],
        note: 'proxy.node: the Node runtime /usr/lib/cuttle/node does not exist (install the cuttle package or set proxy.node)',
      },
    },
    {
      name: 'a missing CLI blocks the plan, naming proxy.cli',
      facts: hostFacts(),
      extra: { proxy: { cli: '/opt/nowhere/main.js' } },
      id: 'unit runtime',
      expect: {
        action: 'blocked',
        note: expect.stringMatching(/^proxy\.cli: the cuttle CLI \/opt\/nowhere\/main\.js does not exist/),
      },
    },
    {
      name: 'Incus names the devlxd key security.guestapi',
      facts: hostFacts({ lxd: { incus: true } }),
      id: 'profile prof',
      expect: {
        changes: expect.arrayContaining([{ key: 'security.guestapi', from: undefined, to: 'false' }]),
      },
    },
    {
      name: 'without the cloud_init extension user-data goes to user.user-data',
      facts: hostFacts({ lxd: { extensions: ['network_hwaddr'] } }),
      id: 'profile prof',
      expect: {
        changes: expect.arrayContaining([
          expect.objectContaining({ key: 'user.user-data', from: undefined }),
        ]),
      },
    },
  ];
  it.each(rows)('$name', ({ facts, extra, id, expect: want }) => {
    expect(find(planHost(facts, cfg(extra)).plans, id)).toMatchObject(want);
  });

  it('a loaded table whose file is converged needs nothing; firewall.load false plans no table', () => {
    const facts = hostFacts({ nftTables: { 'inet t9': true } });
    const first = planHost(facts, config);
    const nft = find(first.plans, 'file /etc/cuttle/t9.nft').steps?.[0];
    if (nft?.kind !== 'write-file') throw new Error('no write');
    const converged = hostFacts({
      nftTables: { 'inet t9': true },
      files: { '/etc/cuttle/t9.nft': { content: nft.content, mode: 0o644 } },
    });
    expect(find(planHost(converged, config).plans, 'nftables inet t9').action).toBe('none');
    const noLoad = planHost(hostFacts(), cfg({ firewall: { load: false } }));
    expect(noLoad.plans.map((p) => p.id)).not.toContain('nftables inet t9');
  });

  it('the watcher is planned before the proxy, only after a change, only where there is something to watch', () => {
    const ids = (facts: HostFacts, c = config) => planHost(facts, c).plans.map((p) => p.id);
    const first = ids(hostFacts({ systemd: true }));
    expect(first.indexOf('unit cuttle-identity.service')).toBeGreaterThan(-1);
    expect(first.indexOf('unit cuttle-identity.service')).toBeLessThan(first.indexOf('unit cuttle.service'));
    expect(ids(hostFacts())).not.toContain('unit cuttle-identity.service');
    expect(ids(hostFacts({ systemd: true }), cfg({ mode: 'socket' }))).not.toContain(
      'unit cuttle-identity.service',
    );
    expect(ids(hostFacts({ systemd: true }), cfg({ firewall: { load: false } }))).not.toContain(
      'unit cuttle-identity.service',
    );
    // Converged files: nothing to restart.
    const files: Record<string, { content: string; mode: number }> = {};
    for (const p of planHost(hostFacts({ systemd: true }), config).plans)
      for (const s of p.steps ?? [])
        if (s.kind === 'write-file') files[s.path] = { content: s.content, mode: s.mode };
    expect(ids(hostFacts({ systemd: true, files }))).not.toContain('unit cuttle-identity.service');
  });

  it('a whole unit an older version wrote is removed (only if ours) and the unit reloaded', () => {
    const files = {
      '/etc/systemd/system/cuttle.service': { content: '# Managed by cuttle-provision\n', mode: 0o644 },
    };
    const { plans } = planHost(hostFacts({ systemd: true, files }), config);
    expect(find(plans, 'file /etc/systemd/system/cuttle.service')).toMatchObject({
      action: 'delete',
      steps: [{ kind: 'remove-file', path: '/etc/systemd/system/cuttle.service' }],
    });
    expect(find(plans, 'unit cuttle.service').action).toBe('update');
    const foreign = { '/etc/systemd/system/cuttle.service': { content: '[Unit]\n', mode: 0o644 } };
    expect(planHost(hostFacts({ files: foreign }), config).plans.map((p) => p.id)).not.toContain(
      'file /etc/systemd/system/cuttle.service',
    );
  });

  it('a profile in drift: managed keys are reverted, other keys and devices kept', () => {
    const facts = hostFacts({
      lxd: {
        profiles: {
          prof: {
            name: 'prof',
            description: 'mine',
            config: { 'security.devlxd': 'true', 'user.mine': 'x' },
            devices: { tmpfs: { type: 'disk', source: '/tmp', path: '/mnt' } },
          },
        },
      },
    });
    const p = find(planHost(facts, config).plans, 'profile prof');
    expect(p.action).toBe('update');
    expect(p.changes).toContainEqual({ key: 'security.devlxd', from: 'true', to: 'false' });
    expect(p.changes.map((c) => c.key)).not.toContain('user.mine');
    const step = p.steps?.[0];
    if (step?.kind !== 'lxd-update') throw new Error('no update step');
    const body = step.build(structuredClone(facts.lxd.profiles.prof) as never) as {
      config: Record<string, string>;
      devices: Record<string, unknown>;
      description: string;
    };
    expect(body.config['user.mine']).toBe('x');
    expect(body.config['security.devlxd']).toBe('false');
    expect(Object.keys(body.devices).sort()).toEqual(['eth0', 'root', 'tmpfs']);
    expect(body.description).toBe('mine');
  });

  it('socket mode: no bridge, no table, and the profile loses its NICs', () => {
    const facts = hostFacts({
      lxd: {
        profiles: {
          prof: {
            name: 'prof',
            description: '',
            config: {},
            devices: { eth0: { type: 'nic', network: 'x' } },
          },
        },
      },
    });
    const { plans } = planHost(facts, cfg({ mode: 'socket' }));
    expect(plans.map((p) => p.id)).toEqual([
      'unit runtime',
      'pool p1',
      'profile prof (socket mode)',
      'file /etc/cuttle/cuttle.yaml',
      'file /etc/systemd/system/cuttle.service.d/cuttle-provision.conf',
    ]);
    expect(find(plans, 'profile prof (socket mode)').changes).toContainEqual({
      key: 'devices.eth0',
      from: 'nic',
      to: undefined,
    });
  });
});

describe('apply then plan again', () => {
  it('an in-memory host converges: a second plan is empty and the steps ran in order', async () => {
    const facts = hostFacts({
      lxd: { networks: { br9: network({ ...BRIDGE_KEYS, 'bridge.hwaddr': '00:16:3e:00:00:01' }) } },
    });
    const effects = memoryEffects(facts, { '/etc/cuttle/t9.nft': 'inet t9' });
    const done = await applyPlans(planHost(facts, config).plans, effects);
    expect(done.map((p) => p.id)).toContain('bridge br9');
    expect(effects.log.slice(0, 4)).toEqual([
      'POST /1.0/storage-pools',
      'PUT /1.0/networks/br9',
      'PUT /1.0/networks/br9',
      'POST /1.0/profiles',
    ]);
    expect(planHost(facts, config).plans.filter((p) => p.action !== 'none')).toEqual([]);
  });

  it('apply refuses to start when a resource is replace-required, and changes nothing', async () => {
    const facts = hostFacts({
      lxd: { pools: { p1: { name: 'p1', driver: 'zfs', config: {}, description: '' } } },
    });
    const effects = memoryEffects(facts);
    await expect(applyPlans(planHost(facts, config).plans, effects)).rejects.toThrow(
      /nothing changed: pool p1: replace required/,
    );
    expect(effects.log).toEqual([]);
  });

  it("LXD's refusal to create a zfs pool is explained", async () => {
    const facts = hostFacts({ paths: { '/dev/vg/lv': true } });
    const effects = memoryEffects(facts);
    effects.lxdCreate = async () => {
      const { LxdApiError } = await import('../src/errors.js');
      throw new LxdApiError('POST', '/1.0/storage-pools', 400, 'no zfs');
    };
    await expect(
      applyPlans(planHost(facts, cfg({ pool: { driver: 'zfs', source: '/dev/vg/lv' } })).plans, effects),
    ).rejects.toThrow(
      /pool p1: LXD refused to create a zfs pool: .*no zfs\. The zfs kernel module is not loaded/,
    );
  });
});

describe('planRemoval', () => {
  it('removes only managed files, the loaded table and (with systemd) the unit first; never LXD objects', () => {
    const managed = { content: '# Managed by cuttle-provision\n', mode: 0o644 };
    const facts = hostFacts({
      systemd: true,
      nftTables: { 'inet t9': true },
      files: {
        '/etc/cuttle/cuttle.yaml': managed,
        '/etc/cuttle/t9.nft': { content: 'hand-written\n', mode: 0o644 },
        '/etc/systemd/system/cuttle.service.d/cuttle-provision.conf': managed,
      },
    });
    const plans = planRemoval(facts, config);
    expect(plans.filter((p) => p.action !== 'none').map((p) => p.id)).toEqual([
      'unit cuttle.service',
      'file /etc/cuttle/cuttle.yaml',
      'file /etc/systemd/system/cuttle.service.d/cuttle-provision.conf',
      'nftables inet t9',
    ]);
    expect(find(plans, 'unit cuttle.service').steps).toEqual([
      { kind: 'run', argv: ['systemctl', 'disable', '--now', 'cuttle.service', 'cuttle-identity.service'] },
    ]);
    expect(find(plans, 'file /etc/cuttle/t9.nft').note).toBe('kept: not written by cuttle-provision');
    expect(find(plans, 'nftables inet t9').steps).toEqual([
      { kind: 'nft', args: ['delete', 'table', 'inet', 't9'] },
    ]);
  });
});

describe('gatherFacts through stand-in readers', () => {
  const readers = (files: Record<string, string>, exists: string[]): FactReaders => ({
    lxd: {
      socketPath: '/var/lib/lxd/unix.socket',
      server: async () => ({ api_extensions: ['network_hwaddr'], environment: {}, config: {} }),
      getOrNull: async <T>(path: string) =>
        path === '/1.0/profiles/prof'
          ? { metadata: { name: 'prof', config: {}, devices: {}, description: '' } as T, etag: undefined }
          : null,
      request: async <T>() => ({
        metadata: [{ name: 'c1', status: 'Running', profiles: ['default'], expanded_devices: {} }] as T,
        etag: undefined,
      }),
    },
    nft: { hasTable: (family, name) => family === 'inet' && name === 't9' },
    packages: { debVersion: (n) => (n === 'lxd' ? '5.0.2-5~bpo12+1' : null) },
    files: {
      read: (p) => (p in files ? { content: files[p] as string, mode: 0o600 } : null),
      exists: (p) => exists.includes(p),
    },
  });

  it('reads files under --root, the runtime under --root or here, and systemd only for the real root', async () => {
    const r = readers(
      { '/r/etc/cuttle/cuttle.yaml': 'x', '/etc/os-release': 'VERSION_CODENAME=bookworm\n' },
      ['/r/usr/lib/cuttle/node', '/usr/lib/cuttle/cuttle.mjs', '/run/systemd/system'],
    );
    const f = await gatherFacts(r, config, '/r');
    expect(f.files['/etc/cuttle/cuttle.yaml']).toEqual({ content: 'x', mode: 0o600 });
    expect(f.paths['/usr/lib/cuttle/node']).toBe(true);
    expect(f.paths['/usr/lib/cuttle/cuttle.mjs']).toBe(true);
    expect(f.systemd).toBe(false);
    expect(f.install).toEqual({ lxdInstall: 'deb-backports', osRelease: 'VERSION_CODENAME=bookworm\n' });
    expect(f.nftTables).toMatchObject({ 'inet t9': true, 'bridge t9': false });
    expect(f.lxd.profiles).toEqual({ prof: { name: 'prof', config: {}, devices: {}, description: '' } });
    expect(f.lxd.networks).toEqual({ br9: null });
    expect(f.lxd.instances.map((i) => i.name)).toEqual(['c1']);
    expect((await gatherFacts(r, config, '/')).systemd).toBe(true);
    expect(planHost(f, config).plans.find((p) => p.id === 'unit runtime')?.action).toBe('none');
  });
});
