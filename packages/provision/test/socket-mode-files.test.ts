/**
 * Socket mode's generated files and profile, without a daemon: the proxy config listens on the unix socket (and on
 * the bridge too when both modes serve the host), the profile has the LXD proxy device and no NIC, every proxy
 * variable and the cloud-init user-data say `http://127.0.0.1:3128`, and the unit owns the socket directory and
 * still passes `systemd-analyze verify` and rates below 2.0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@cuttle/shared';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { hostConfigSchema, managedProfiles } from '../src/host-config/schema.js';
import { renderCloudInit } from '../src/render/cloud-init.js';
import { renderProxyConfig } from '../src/render/proxy-config.js';
import { renderPackageUnit, renderUnitDropIn } from '../src/render/systemd-unit.js';
import { ownedFiles } from '../src/resources/owned-files.js';
import { desiredProfile } from '../src/resources/profile.js';

const dir = mkdtempSync(join(tmpdir(), 'cps-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FEATURES = { incus: false, cloudInitKeys: true };
const socketOnly = hostConfigSchema.parse({ mode: 'socket', proxy: { allow: ['allowed.test'] } });
const both = hostConfigSchema.parse({ bridge: { name: 'cpsbr0' }, socket: { profile: 'nonic' } });
const URL = 'http://127.0.0.1:3128';

describe('the proxy config in socket mode', () => {
  const table = [
    { name: 'socket only', config: socketOnly, listen: ['unix:/run/cuttle/cuttle.sock'] },
    {
      name: 'bridge and socket',
      config: both,
      listen: ['[fe80::1%cpsbr0]:3128', 'unix:/run/cuttle/cuttle.sock'],
    },
  ];
  it.each(table)("$name: loads with the proxy's loader and listens on $listen", ({ config, listen }) => {
    const c = loadConfig(renderProxyConfig(config), 'cuttle.yaml');
    expect(c.listen).toEqual(listen);
    expect(c.unix_socket.mode).toBe('0660');
  });

  it('a bridge-only host has no unix listener', () => {
    const c = loadConfig(renderProxyConfig(hostConfigSchema.parse({})), 'cuttle.yaml');
    expect(c.listen).toEqual(['[fe80::1%lxdbr0]:3128']);
  });

  it('socket only: no nftables file (there is no bridge to filter)', () => {
    const { files } = ownedFiles(socketOnly, { lxdInstall: 'deb', osRelease: '' });
    expect(files.map((f) => f.path)).toEqual([
      '/etc/cuttle/cuttle.yaml',
      '/etc/systemd/system/cuttle.service.d/cuttle-provision.conf',
    ]);
    expect(ownedFiles(both, { lxdInstall: 'deb', osRelease: '' }).files.map((f) => f.path)).toContain(
      '/etc/cuttle/cuttle.nft',
    );
  });
});

describe('the socket-mode profile', () => {
  it('has the LXD proxy device and the root disk, and no NIC', () => {
    const p = desiredProfile(socketOnly, FEATURES);
    expect(p.devices).toEqual({
      cuttle: {
        type: 'proxy',
        listen: 'tcp:127.0.0.1:3128',
        connect: 'unix:/run/cuttle/cuttle.sock',
        bind: 'container',
      },
      root: { type: 'disk', path: '/', pool: 'lxd' },
    });
    // A NIC already on the profile (e.g. the default profile's eth0) is removed; other devices stay.
    expect(
      p.absent({
        eth0: { type: 'nic', network: 'lxdbr0' },
        eth1: { type: 'nic', nictype: 'macvlan' },
        data: { type: 'disk', path: '/data' },
      }),
    ).toEqual(['eth0', 'eth1']);
  });

  it('points every proxy variable at 127.0.0.1:3128', () => {
    const { config } = desiredProfile(socketOnly, FEATURES);
    for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'])
      expect(config[`environment.${k}`], k).toBe(URL);
    expect(config['environment.no_proxy']).toBe('localhost,127.0.0.1,::1');
    expect(config['cloud-init.user-data']).toContain(`http_proxy="${URL}"`);
  });

  it('both modes: the bridge profile keeps its NIC and loses a stale proxy device; the second is in socket mode', () => {
    expect(managedProfiles(both)).toEqual([
      { name: 'default', mode: 'bridge' },
      { name: 'nonic', mode: 'socket' },
    ]);
    const bridge = desiredProfile(both, FEATURES, 'bridge');
    expect(bridge.devices.eth0).toMatchObject({ type: 'nic', network: 'cpsbr0' });
    expect(bridge.config['environment.http_proxy']).toBe('http://[fe80::1%eth0]:3128');
    expect(bridge.absent({ cuttle: { type: 'proxy' } })).toEqual(['cuttle']);
    const socket = desiredProfile(both, FEATURES, 'socket');
    expect(socket.devices.cuttle?.type).toBe('proxy');
    expect(socket.config['environment.https_proxy']).toBe(URL);
  });
});

describe.skipIf(skipUnless({ commands: ['cloud-init'] }))('socket-mode cloud-init user-data', () => {
  it('passes `cloud-init schema` and writes 127.0.0.1:3128 into /etc/environment and apt', () => {
    const file = join(dir, 'user-data');
    const text = renderCloudInit(socketOnly);
    writeFileSync(file, text);
    const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('Valid cloud-config');
    expect(text).toContain(`HTTPS_PROXY="${URL}"`);
    expect(text).toContain(`Acquire::https::Proxy "${URL}";`);
  });
});

describe.skipIf(skipUnless({ commands: ['systemd-analyze'] }))('the socket-mode systemd unit', () => {
  const unitDir = join(dir, 'units');
  mkdirSync(unitDir, { recursive: true });
  const cli = join(dir, 'main.js');
  writeFileSync(cli, '');
  const proxy = { cli, node: process.execPath };
  const cases = [
    {
      name: 'socket only',
      config: hostConfigSchema.parse({ mode: 'socket', proxy }),
      has: ['RuntimeDirectory=cuttle\n', 'After=network.target\n'],
      hasNot: ['BindsTo=', 'ExecStartPre=', 'ReadWritePaths='],
    },
    {
      name: 'bridge and socket',
      config: hostConfigSchema.parse({ bridge: { name: 'cpsbr0' }, socket: { profile: 'nonic' }, proxy }),
      has: ['RuntimeDirectory=cuttle\n', 'BindsTo=sys-subsystem-net-devices-cpsbr0.device', 'ExecStartPre=+'],
      hasNot: ['ReadWritePaths='],
    },
    {
      name: 'socket outside /run',
      config: hostConfigSchema.parse({ mode: 'socket', socket: { path: '/srv/cuttle/c.sock' }, proxy }),
      has: ['ReadWritePaths=/srv/cuttle\n'],
      hasNot: ['RuntimeDirectory='],
    },
    {
      name: 'bridge only',
      config: hostConfigSchema.parse({ proxy }),
      has: ['BindsTo='],
      hasNot: ['RuntimeDirectory=', 'ReadWritePaths='],
    },
  ];

  it.each(cases)(
    '$name: passes verify, rates below 2.0, has the right lines',
    ({ name, config, has, hasNot }) => {
      const unit = join(unitDir, `cps-${name.replaceAll(' ', '-').replaceAll('/', '')}.service`);
      mkdirSync(`${unit}.d`, { recursive: true });
      writeFileSync(unit, renderPackageUnit());
      writeFileSync(join(`${unit}.d`, 'cuttle-provision.conf'), renderUnitDropIn(config));
      const text = `${renderPackageUnit()}${renderUnitDropIn(config)}`;
      const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', cwd: unitDir });
      expect(v.stderr).toBe('');
      expect(v.status).toBe(0);
      const s = spawnSync('systemd-analyze', ['security', '--offline=yes', unit], { encoding: 'utf8' });
      const level = Number(/Overall exposure level for \S+: (\d+\.\d+)/.exec(s.stdout)?.[1]);
      expect(level).toBeLessThan(2.0);
      for (const h of has) expect(text).toContain(h);
      for (const h of hasNot) expect(text).not.toContain(h);
    },
  );
});
