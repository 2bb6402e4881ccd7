import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@cuttle/shared';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { hostConfigSchema } from '../src/host-config/schema.js';
import { writeFileAtomic } from '../src/internal/atomic-file.js';
import { renderCloudInit } from '../src/render/cloud-init.js';
import { renderProxyConfig } from '../src/render/proxy-config.js';
import { renderIdentityUnit, renderPackageUnit, renderUnitDropIn } from '../src/render/systemd-unit.js';
import { applyPlans, systemEffects } from '../src/resources/apply.js';
import { ownedFiles, planFile, planFileRemoval } from '../src/resources/owned-files.js';
import { filesUnder, hostFacts } from './helpers/facts.js';

const dir = mkdtempSync(join(tmpdir(), 'cpv-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = hostConfigSchema.parse({ bridge: { name: 'cpvbr0' }, proxy: { allow: ['allowed.test'] } });

describe('which files are owned', () => {
  const table = [
    { install: 'deb-backports', mode: 'auto', pin: true },
    { install: 'deb', mode: 'auto', pin: false },
    { install: 'snap', mode: 'auto', pin: false },
    { install: 'snap', mode: 'always', pin: true },
    { install: 'deb-backports', mode: 'never', pin: false },
  ] as const;
  it.each(table)('LXD from $install with apt_pin.mode $mode: pin $pin', ({ install, mode, pin }) => {
    const c = hostConfigSchema.parse({ apt_pin: { mode } });
    const { files, skipped } = ownedFiles(c, {
      lxdInstall: install,
      osRelease: 'VERSION_CODENAME=bookworm\n',
    });
    expect(files.some((f) => f.path === '/etc/apt/preferences.d/cuttle-lxd.pref')).toBe(pin);
    if (!pin && mode === 'auto') expect(skipped.join()).toMatch(/not needed/);
  });

  it('plans create, then nothing, then an update with a line diff; removal only touches its own files', async () => {
    const root = join(dir, 'root');
    const file = {
      path: '/etc/cuttle/x.yaml',
      content: '# Managed by cuttle-provision\na: 1\n',
      mode: 0o644,
    };
    const paths = [file.path, '/etc/cuttle/foreign.yaml'];
    const facts = () => hostFacts({ root, files: filesUnder(root, paths) });
    const first = planFile(facts(), file);
    expect(first.action).toBe('create');
    await applyPlans([first], systemEffects(undefined as never));
    expect(planFile(facts(), file).action).toBe('none');
    const changed = planFile(facts(), { ...file, content: '# Managed by cuttle-provision\na: 2\n' });
    expect(changed.action).toBe('update');
    expect(changed.changes[0]?.to).toBe('- a: 1\n+ a: 2');
    writeFileSync(join(root, 'etc/cuttle/foreign.yaml'), 'mine\n');
    expect(planFileRemoval(facts(), '/etc/cuttle/foreign.yaml').action).toBe('none');
    expect(planFileRemoval(facts(), '/etc/cuttle/x.yaml').action).toBe('delete');
  });

  it('writes atomically with the mode enforced: a umask does not weaken it, a chmod by hand is planned back', async () => {
    const root = join(dir, 'root-mode');
    const file = {
      path: '/etc/cuttle/m.yaml',
      content: '# Managed by cuttle-provision\nm: 1\n',
      mode: 0o640,
    };
    const facts = () => hostFacts({ root, files: filesUnder(root, [file.path]) });
    const full = join(root, file.path);
    const old = process.umask(0o077);
    try {
      await applyPlans([planFile(facts(), file)], systemEffects(undefined as never));
    } finally {
      process.umask(old);
    }
    expect(statSync(full).mode & 0o7777).toBe(0o640);
    chmodSync(full, 0o666);
    const drift = planFile(facts(), file);
    expect(drift.action).toBe('update');
    expect(drift.changes).toEqual([{ key: 'mode', from: '0666', to: '0640' }]);
    const inodeBefore = statSync(full).ino;
    await applyPlans([drift], systemEffects(undefined as never));
    expect(statSync(full).mode & 0o7777).toBe(0o640);
    // Replaced by rename (a new inode), and no temp file is left beside it.
    expect(statSync(full).ino).not.toBe(inodeBefore);
    expect(readdirSync(join(root, 'etc/cuttle'))).toEqual(['m.yaml']);
    expect(planFile(facts(), file).action).toBe('none');
  });

  it('a write that fails leaves the old file and no temp file', () => {
    const root = join(dir, 'root-fail');
    mkdirSync(join(root, 'etc/cuttle/d.yaml'), { recursive: true }); // a directory where the file should go
    expect(() => writeFileAtomic(join(root, 'etc/cuttle/d.yaml'), 'x\n', 0o644)).toThrow();
    expect(readdirSync(join(root, 'etc/cuttle'))).toEqual(['d.yaml']);
  });
});

describe('the proxy config file', () => {
  it("loads with the proxy's own loader: listens on fe80::1 of the bridge, link-local clients, the allowlist", () => {
    const c = loadConfig(renderProxyConfig(config), 'cuttle.yaml');
    expect(c.listen).toEqual(['[fe80::1%cpvbr0]:3128']);
    expect(c.clients).toEqual(['fe80::/10']);
    expect(c.allow).toEqual(['allowed.test']);
  });

  it('proxy.settings that the proxy rejects are a config error naming the generated file', () => {
    const bad = hostConfigSchema.parse({ proxy: { settings: { ports: ['http'] } } });
    expect(() => renderProxyConfig(bad)).toThrow(
      /cuttle\.yaml \(generated from host\.yaml proxy\.\*\):\d+:\d+: ports\[0\]/,
    );
  });
});

describe.skipIf(skipUnless({ commands: ['cloud-init'] }))('cloud-init user-data', () => {
  it('passes `cloud-init schema` and writes the proxy into /etc/environment and apt', () => {
    const file = join(dir, 'user-data');
    const text = renderCloudInit(config);
    writeFileSync(file, text);
    const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('Valid cloud-config');
    expect(r.status).toBe(0);
    expect(text).toContain('path: /etc/environment');
    expect(text).toContain('http_proxy="http://[fe80::1%eth0]:3128"');
    expect(text).toContain('Acquire::http::Proxy "http://[fe80::1%eth0]:3128";');
  });

  it('the same check rejects a broken document (so it can fail)', () => {
    const file = join(dir, 'bad-user-data');
    writeFileSync(file, renderCloudInit(config).replace('append: true', 'append: maybe'));
    expect(spawnSync('cloud-init', ['schema', '--config-file', file]).status).not.toBe(0);
  });
});

describe.skipIf(skipUnless({ commands: ['systemd-analyze'] }))('the systemd unit and its drop-in', () => {
  const unitDir = join(dir, 'units');
  mkdirSync(join(unitDir, 'cuttle.service.d'), { recursive: true });
  const cli = join(dir, 'main.js');
  writeFileSync(cli, '');
  const c = hostConfigSchema.parse({ bridge: { name: 'cpvbr0' }, proxy: { cli, node: process.execPath } });
  const unit = join(unitDir, 'cuttle.service');
  const dropIn = join(unitDir, 'cuttle.service.d', 'cuttle-provision.conf');
  writeFileSync(unit, renderPackageUnit());
  writeFileSync(dropIn, renderUnitDropIn(c));

  function exposure(path: string): number {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', path], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
    if (m?.[1] === undefined) throw new Error(`no exposure level in: ${r.stdout}${r.stderr}`);
    return Number(m[1]);
  }

  // The watcher the drop-in Wants=, with this machine's Node and a stand-in CLI (verify checks both exist).
  const watcher = join(unitDir, 'cuttle-identity.service');
  writeFileSync(
    watcher,
    renderIdentityUnit()
      .replace('/usr/lib/cuttle/node', process.execPath)
      .replace('/usr/lib/cuttle/cuttle-provision.mjs', cli),
  );

  it('the identity watcher unit passes systemd-analyze verify, runs identity --watch on host.yaml, as root', () => {
    const r = spawnSync('systemd-analyze', ['verify', watcher], { encoding: 'utf8', cwd: unitDir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = renderIdentityUnit();
    expect(text).toContain(
      'ExecStart=/usr/lib/cuttle/node /usr/lib/cuttle/cuttle-provision.mjs identity --watch --config /etc/cuttle/host.yaml\n',
    );
    expect(text).toContain('Before=cuttle.service\n');
    expect(text).toContain('Restart=on-failure\n');
    expect(text).toContain('CapabilityBoundingSet=CAP_NET_ADMIN CAP_DAC_OVERRIDE\n');
    expect(text).not.toMatch(/^(User|DynamicUser)=/m);
    expect(readFileSync(dropIn, 'utf8')).toContain('Wants=cuttle-identity.service\n');
  });

  it('the watcher is hardened: rated below the bare unit by systemd-analyze security', () => {
    const bare = join(unitDir, 'bare-identity.service');
    writeFileSync(
      bare,
      readFileSync(watcher, 'utf8').replace(/CapabilityBoundingSet=[\s\S]*\n\[Install\]/, '[Install]'),
    );
    const hardened = exposure(watcher);
    expect(hardened).toBeLessThan(exposure(bare) - 3);
    expect(hardened).toBeLessThan(5);
  });

  it('passes systemd-analyze verify with the drop-in next to it', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', cwd: unitDir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('is rated below 2.0 by systemd-analyze security --offline=yes (and the bare unit is not)', () => {
    expect(exposure(unit)).toBeLessThan(2.0);
    const bare = join(unitDir, 'bare.service');
    writeFileSync(bare, readFileSync(unit, 'utf8').replace(/DynamicUser=yes[\s\S]*LimitNOFILE=65536\n/, ''));
    expect(exposure(bare)).toBeGreaterThan(5);
  });

  it('the drop-in names the node and CLI by absolute path, binds to the bridge device, loads the table', () => {
    const text = readFileSync(dropIn, 'utf8');
    expect(text).toContain(
      `ExecStart=\nExecReload=\nExecStart=${process.execPath} --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc ${cli} run --config /etc/cuttle/cuttle.yaml`,
    );
    expect(text).toContain('BindsTo=sys-subsystem-net-devices-cpvbr0.device');
    expect(text).toContain('After=sys-subsystem-net-devices-cpvbr0.device');
    expect(text).toContain('ExecStartPre=+/usr/sbin/nft -f /etc/cuttle/cuttle.nft\n');
    expect(text).toMatch(
      /ExecReload=\S+ \S+ validate --config \S+\nExecReload=\/usr\/bin\/kill -HUP \$MAINPID/,
    );
  });

  it("with the package's paths the drop-in only adds the host's values; the unit waits for the config", () => {
    const text = renderUnitDropIn(hostConfigSchema.parse({}));
    expect(text).not.toContain('ExecStart=');
    expect(text).toContain('BindsTo=sys-subsystem-net-devices-lxdbr0.device');
    const pkg = renderPackageUnit();
    expect(pkg).toContain(
      'ExecStart=/usr/lib/cuttle/node --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc /usr/lib/cuttle/cuttle.mjs run --config /etc/cuttle/cuttle.yaml\n',
    );
    expect(pkg).toMatch(
      /ExecReload=\S+ \S+ validate --config \S+\nExecReload=\/usr\/bin\/kill -HUP \$MAINPID/,
    );
    expect(pkg).toContain('ConditionPathExists=/etc/cuttle/cuttle.yaml\n');
    expect(pkg).not.toContain('Managed by cuttle-provision');
  });
});

describe.skipIf(skipUnless({ commands: ['apt-get', 'apt-cache'] }))('the APT pin', () => {
  const repo = join(dir, 'repo');
  const apt = join(dir, 'apt');
  const VERSION = '9.9.9-1~bpo12+1';

  function buildRepo(): void {
    const packages = ['lxd', 'lxd-client', 'unrelated']
      .map(
        (p) =>
          `Package: ${p}\nVersion: ${VERSION}\nArchitecture: amd64\nMaintainer: t <t@t.test>\nFilename: pool/${p}.deb\nSize: 1\nSHA256: ${'0'.repeat(64)}\nDescription: test\n`,
      )
      .join('\n');
    const rel = 'main/binary-amd64/Packages';
    mkdirSync(join(repo, 'dists/bookworm-backports/main/binary-amd64'), { recursive: true });
    writeFileSync(join(repo, 'dists/bookworm-backports', rel), packages);
    const sha = createHash('sha256').update(packages).digest('hex');
    writeFileSync(
      join(repo, 'dists/bookworm-backports/Release'),
      `Origin: cuttle-test\nLabel: cuttle-test\nSuite: bookworm-backports\nCodename: bookworm-backports\nNotAutomatic: yes\nButAutomaticUpgrades: yes\nArchitectures: amd64\nComponents: main\nDate: Thu, 01 Jan 2026 00:00:00 UTC\nSHA256:\n ${sha} ${Buffer.byteLength(packages)} ${rel}\n`,
    );
    for (const d of ['lists/partial', 'cache/archives/partial', 'prefs.d', 'parts.d'])
      mkdirSync(join(apt, d), { recursive: true });
    writeFileSync(join(apt, 'sources.list'), `deb [trusted=yes] file:${repo} bookworm-backports main\n`);
    writeFileSync(join(apt, 'status'), '');
  }

  const opts = (): string[] =>
    [
      `Dir::Etc::SourceList=${join(apt, 'sources.list')}`,
      `Dir::Etc::SourceParts=${join(apt, 'parts.d')}`,
      `Dir::Etc::Preferences=${join(apt, 'none')}`,
      `Dir::Etc::PreferencesParts=${join(apt, 'prefs.d')}`,
      `Dir::State::Lists=${join(apt, 'lists')}`,
      `Dir::State::status=${join(apt, 'status')}`,
      `Dir::Cache=${join(apt, 'cache')}`,
      'APT::Architecture=amd64',
      'APT::Sandbox::User=root',
      'Debug::NoLocking=1',
    ].flatMap((o) => ['-o', o]);

  function priority(pkg: string): number {
    const r = spawnSync('apt-cache', [...opts(), 'policy', pkg], { encoding: 'utf8' });
    const m = new RegExp(`^\\s+(?:\\*\\*\\* )?${VERSION.replace(/[.+~]/g, '\\$&')} (\\d+)$`, 'm').exec(
      r.stdout,
    );
    if (m?.[1] === undefined) throw new Error(`no version line for ${pkg} in:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  }

  it('raises lxd* from the backports suite to 500 and leaves other packages at 100', () => {
    buildRepo();
    const up = spawnSync('apt-get', [...opts(), 'update'], { encoding: 'utf8' });
    expect(up.status, up.stderr).toBe(0);
    expect(priority('lxd')).toBe(100);
    const { files } = ownedFiles(hostConfigSchema.parse({}), {
      lxdInstall: 'deb-backports',
      osRelease: 'ID=debian\nVERSION_CODENAME=bookworm\n',
    });
    const pin = files.find((f) => f.path.endsWith('.pref'));
    expect(pin?.content).toContain('Pin: release n=bookworm-backports');
    writeFileSync(join(apt, 'prefs.d/cuttle-lxd.pref'), pin?.content ?? '');
    expect(priority('lxd')).toBe(500);
    expect(priority('lxd-client')).toBe(500);
    expect(priority('unrelated')).toBe(100);
  });
});
