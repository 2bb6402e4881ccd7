/**
 * The .deb as an operator meets it: built twice to the same bytes, lintian-clean, installed with its dependencies
 * from Debian's archive into a clean Debian 12 root (mmdebstrap), and there: both CLIs, the shipped examples, the
 * installed proxy serving a request from a local origin, `cuttle-provision plan` without LXD, the unit under
 * systemd-analyze, then the maintainer scripts with recording stubs for systemctl/deb-systemd-invoke (install,
 * upgrade to a version-bumped build, remove, purge) and what each leaves behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, inRoot, ROOT_ENV, run } from './helpers.js';

const NEEDS = { root: true, commands: ['dpkg-deb', 'dpkg-shlibdeps', 'lintian', 'mmdebstrap', 'chroot'] };
const VERSION = (
  JSON.parse(readFileSync(new URL('../../packages/proxy/package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
const BUMPED = `${VERSION}+upgrade1`;
const STUB_LOG = '/tmp/stub-calls.log';

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createTcpServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The root's files, except what a run changes anyway (proc, tmp, run, caches, dpkg's and apt's state, logs). */
function snapshot(root: string): string[] {
  const pruned = [
    '/proc',
    '/sys',
    '/dev',
    '/tmp',
    '/run',
    '/usr/local',
    '/var/cache',
    '/var/lib/dpkg',
    '/var/lib/apt',
    '/var/log/apt',
    '/var/log/dpkg.log',
    '/var/log/alternatives.log',
  ];
  const args = ['find', '/', '-xdev', '('];
  for (const [i, p] of pruned.entries()) args.push(...(i > 0 ? ['-o'] : []), '-path', p);
  args.push(')', '-prune', '-o', '-print');
  return inRoot(root, args).stdout.split('\n').filter(Boolean).sort();
}

describe.skipIf(skipUnless(NEEDS))('the Debian package', () => {
  const work = mkdtempSync('/tmp/cuttle-deb-test-');
  const inc = join(work, 'inc');
  const root = join(work, 'root');
  let deb = '';
  let again = '';
  let bumped = '';
  let lintian = { code: null as number | null, stdout: '', stderr: '' };
  let procMounted = false;
  let origin: Server | undefined;
  let proxy: ChildProcess | undefined;

  beforeAll(async () => {
    deb = await buildPackage('deb', join(work, 'a'));
    mkdirSync(inc);
    spawnSync('cp', [deb, inc]);
    const incDeb = join(inc, `cuttle_${VERSION}_amd64.deb`);
    // The second build, the version-bumped one, lintian and the clean root, side by side.
    const [a2, b, lint, strap] = await Promise.all([
      buildPackage('deb', join(work, 'b')),
      buildPackage('deb', join(work, 'c'), BUMPED),
      run('lintian', ['--fail-on', 'error,warning', deb]),
      run('mmdebstrap', [
        '--variant=apt',
        '--quiet',
        `--setup-hook=mkdir -p "$1${inc}" && cp ${incDeb} "$1${inc}/"`,
        `--include=systemd,logrotate,${incDeb}`,
        'bookworm',
        root,
      ]),
    ]);
    again = a2;
    bumped = b;
    lintian = lint;
    if (strap.code !== 0) throw new Error(`mmdebstrap failed: ${strap.stderr}`);
    // mmdebstrap cleans up what it installed from; the maintainer-script tests install from the root's /tmp.
    mkdirSync(join(root, 'tmp/debs'), { recursive: true });
    spawnSync('cp', [deb, bumped, join(root, 'tmp/debs')]);
    const m = spawnSync('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
    procMounted = m.status === 0;
  }, 600_000);

  afterAll(async () => {
    proxy?.kill('SIGKILL');
    origin?.close();
    if (procMounted) spawnSync('umount', ['-l', join(root, 'proc')]);
    rmSync(work, { recursive: true, force: true });
  });

  it('builds cuttle_VERSION_amd64.deb twice to the same bytes', () => {
    expect(deb).toMatch(new RegExp(`/cuttle_${VERSION.replaceAll('.', '\\.')}_amd64\\.deb$`));
    expect(sha256(again)).toBe(sha256(deb));
    expect(bumped).toMatch(/_amd64\.deb$/);
  });

  it('is lintian clean (no errors or warnings; the overrides are explained in packaging/README.md)', () => {
    expect(lintian.stdout + lintian.stderr).not.toMatch(/^[EW]: /m);
    expect(lintian.code).toBe(0);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const overrides = readFileSync(new URL('../debian/lintian-overrides', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('cuttle: '))
      .map((l) => l.split(' ')[1]);
    for (const tag of overrides) expect(readme).toContain(`\`${tag}\``);
  });

  it('has no node_modules, and both commands on PATH run on the bundled runtime', () => {
    const list = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout;
    expect(list).not.toContain('node_modules');
    for (const p of [
      './usr/bin/cuttle',
      './usr/bin/cuttle-provision',
      './usr/lib/cuttle/node',
      './lib/systemd/system/cuttle.service',
      './lib/systemd/system/cuttle-identity.service',
      './etc/logrotate.d/cuttle',
      './usr/share/doc/cuttle/examples/host.yaml',
      './usr/share/doc/cuttle/copyright',
    ])
      expect(list).toContain(` ${p}\n`);
    expect(list).not.toMatch(/ \.\/etc\/cuttle/);
    expect(inRoot(root, ['cuttle', '--version']).stdout).toBe(`cuttle ${VERSION}\n`);
    expect(inRoot(root, ['cuttle-provision', '--version']).stdout).toBe(`cuttle-provision ${VERSION}\n`);
    expect(inRoot(root, ['/usr/lib/cuttle/node', '--version']).stdout).toMatch(/^v24\./);
  });

  it('the copyright file covers the runtime and every inlined npm package', () => {
    const text = readFileSync(join(root, 'usr/share/doc/cuttle/copyright'), 'utf8');
    expect(text).toMatch(/^Files: usr\/lib\/cuttle\/node$/m);
    expect(text).toContain('Node.js is licensed for use as follows');
    for (const name of ['yaml', 'zod', 'prom-client', 'undici'])
      expect(text).toMatch(new RegExp(`^Comment: npm package ${name}@`, 'm'));
  });

  it("logrotate accepts the package's file (rotates /var/log/cuttle/*.log, then SIGUSR1)", () => {
    const text = readFileSync(join(root, 'etc/logrotate.d/cuttle'), 'utf8');
    expect(text).toContain('/var/log/cuttle/*.log');
    expect(text).toContain('--signal=SIGUSR1 cuttle.service');
    const r = inRoot(root, [
      'logrotate',
      '--debug',
      '--state',
      '/tmp/logrotate.state',
      '/etc/logrotate.d/cuttle',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });

  it('validates the shipped example configs', () => {
    for (const f of ['cuttle.yaml', 'cuttle.lxdbr0.yaml']) {
      const r = inRoot(root, ['cuttle', 'validate', '--config', `/usr/share/doc/cuttle/examples/${f}`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('the installed proxy serves a request from a local origin; reload validates, then SIGHUP', async () => {
    const seen: string[] = [];
    origin = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end('from origin\n');
    });
    await new Promise<void>((r) => origin?.listen(0, '127.0.0.1', r));
    const oport = (origin.address() as AddressInfo).port;
    const pport = await freePort();
    const loop = join(root, 'tmp/loop.yaml');
    const good =
      `listen: ["127.0.0.1:${pport}"]\nclients: ["127.0.0.1/32"]\nports: [${oport}]\nallow: [origin.test]\n` +
      `destinations: { allow_ranges: ["127.0.0.0/8"] }\ndns: { hosts: { origin.test: ["127.0.0.1"] } }\n` +
      'log: { file: /tmp/access.log, format: json }\nmetrics: { listen: null }\n';
    writeFileSync(loop, good);
    proxy = spawn('chroot', [root, 'cuttle', 'run', '--config', '/tmp/loop.yaml'], {
      env: ROOT_ENV,
      stdio: 'ignore',
    });
    await waitForPort(pport, 20_000);
    const get = (): Promise<{ status: number | undefined; body: string }> =>
      new Promise((resolve, reject) => {
        request(
          {
            host: '127.0.0.1',
            port: pport,
            path: `http://origin.test:${oport}/installed`,
            headers: { host: `origin.test:${oport}` },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => {
              body += d.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode, body }));
          },
        )
          .on('error', reject)
          .end();
      });
    expect(await get()).toEqual({ status: 200, body: 'from origin\n' });
    expect(seen).toEqual([`GET /installed origin.test:${oport}`]);

    // `systemctl reload cuttle` runs the unit's ExecReload= lines in order and stops at the first that fails.
    const unit = readFileSync(join(root, 'lib/systemd/system/cuttle.service'), 'utf8');
    const lines = [...unit.matchAll(/^ExecReload=(.*)$/gm)].map((m) =>
      (m[1] ?? '')
        .replaceAll('/etc/cuttle/cuttle.yaml', '/tmp/loop.yaml')
        .replaceAll('$MAINPID', String(proxy?.pid))
        .split(' '),
    );
    expect(lines).toHaveLength(2);
    const reload = (): number | null => {
      for (const cmd of lines) {
        const r = inRoot(root, cmd);
        if (r.code !== 0) return r.code;
      }
      return 0;
    };
    writeFileSync(loop, `${good}bogus_key: 1\n`);
    expect(reload()).toBe(2);
    expect((await get()).status).toBe(200);
    writeFileSync(loop, good.replace('allow: [origin.test]', 'allow: [other.test]'));
    expect(reload()).toBe(0);
    const end = Date.now() + 10_000;
    let status = (await get()).status;
    while (status !== 403 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await get()).status;
    }
    expect(status).toBe(403);
    const reached = seen.length;
    expect((await get()).status).toBe(403);
    expect(seen).toHaveLength(reached);

    const exited = new Promise((r) => proxy?.once('exit', r));
    proxy.kill('SIGTERM');
    await exited;
    proxy = undefined;
    expect(readFileSync(join(root, 'tmp/access.log'), 'utf8')).toContain('"/installed');
  });

  it('cuttle-provision plan of the shipped host.yaml without an LXD daemon exits 3 with a message, no stack', () => {
    const r = inRoot(root, [
      'cuttle-provision',
      'plan',
      '--root',
      '/',
      '--config',
      '/usr/share/doc/cuttle/examples/host.yaml',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^cuttle-provision: .*(LXD|daemon)/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('the unit passes systemd-analyze verify and rates below 2.0, alone and with a provisioning drop-in', () => {
    const verify = (): void => {
      const v = inRoot(root, ['systemd-analyze', 'verify', '/lib/systemd/system/cuttle.service']);
      expect(v.stderr).toBe('');
      expect(v.code).toBe(0);
      const s = inRoot(root, [
        'systemd-analyze',
        'security',
        '--offline=yes',
        '/lib/systemd/system/cuttle.service',
      ]);
      expect(Number(/Overall exposure level for \S+: (\d+\.\d+)/.exec(s.stdout)?.[1])).toBeLessThan(2.0);
    };
    verify();
    mkdirSync(join(root, 'etc/systemd/system/cuttle.service.d'), { recursive: true });
    writeFileSync(
      join(root, 'etc/systemd/system/cuttle.service.d/cuttle-provision.conf'),
      '[Service]\nRuntimeDirectory=cuttle\n',
    );
    verify();
    rmSync(join(root, 'etc/systemd/system/cuttle.service.d'), { recursive: true });
  });

  it('the identity watcher unit passes systemd-analyze verify, runs the installed CLI on host.yaml, is not enabled', () => {
    const v = inRoot(root, ['systemd-analyze', 'verify', '/lib/systemd/system/cuttle-identity.service']);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    const unit = readFileSync(join(root, 'lib/systemd/system/cuttle-identity.service'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(' ') ?? [];
    expect(exec.slice(2)).toEqual(['identity', '--watch', '--config', '/etc/cuttle/host.yaml']);
    // The installed command accepts exactly these arguments (a socket-mode host.yaml without a map: nothing to do).
    writeFileSync(join(root, 'tmp/host.yaml'), 'mode: socket\n');
    const r = inRoot(root, [...exec.slice(0, 4), '--config', '/tmp/host.yaml']);
    expect(r.stderr).toContain('/tmp/host.yaml: nothing to keep in step');
    expect(r.code).toBe(2);
    expect(snapshot(root).filter((f) => f.includes('wants/cuttle-identity'))).toEqual([]);
  });

  describe('maintainer scripts, with systemd stand-ins that record their calls', () => {
    let before: string[] = [];
    const calls = (): string => {
      try {
        return readFileSync(join(root, STUB_LOG), 'utf8');
      } catch {
        return '';
      }
    };

    beforeAll(() => {
      // Purge what mmdebstrap installed, then start from that clean root with systemd "running" (stubbed).
      expect(inRoot(root, ['dpkg', '--purge', 'cuttle']).code).toBe(0);
      before = snapshot(root);
      for (const cmd of ['systemctl', 'deb-systemd-invoke'])
        writeFileSync(join(root, 'usr/local/sbin', cmd), `#!/bin/sh\necho "${cmd} $*" >> ${STUB_LOG}\n`, {
          mode: 0o755,
        });
      mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    });

    it('install: daemon-reload only; the unit is neither enabled nor started and waits for the config', () => {
      const r = inRoot(root, ['dpkg', '-i', `/tmp/debs/cuttle_${VERSION}_amd64.deb`]);
      expect(r.code).toBe(0);
      expect(calls()).toBe('systemctl --system daemon-reload\n');
      expect(r.stdout).toContain('cuttle-provision init');
      const unit = readFileSync(join(root, 'lib/systemd/system/cuttle.service'), 'utf8');
      expect(unit).toContain('ConditionPathExists=/etc/cuttle/cuttle.yaml\n');
      expect(unit).toMatch(
        /ExecReload=\S+ \S+ validate --config \/etc\/cuttle\/cuttle\.yaml\nExecReload=\/usr\/bin\/kill -HUP \$MAINPID\n/,
      );
      expect(snapshot(root).filter((f) => f.includes('multi-user.target.wants/cuttle'))).toEqual([]);
    });

    it('upgrade to a version-bumped build: restarts a running proxy, keeps /etc/cuttle and the log', () => {
      // What provisioning and a running proxy leave.
      mkdirSync(join(root, 'etc/cuttle'), { recursive: true });
      writeFileSync(join(root, 'etc/cuttle/cuttle.yaml'), 'listen: ["[::1]:3128"]\nallow: [origin.test]\n');
      writeFileSync(join(root, 'etc/cuttle/host.yaml'), 'proxy: { allow: [origin.test] }\n');
      mkdirSync(join(root, 'etc/systemd/system/cuttle.service.d'), { recursive: true });
      writeFileSync(join(root, 'etc/systemd/system/cuttle.service.d/cuttle-provision.conf'), '[Service]\n');
      mkdirSync(join(root, 'var/log/private/cuttle'), { recursive: true });
      spawnSync('ln', ['-s', 'private/cuttle', join(root, 'var/log/cuttle')]);
      writeFileSync(join(root, 'var/log/cuttle/access.log'), '{"line":1}\n');
      writeFileSync(join(root, STUB_LOG), '');
      const r = inRoot(root, ['dpkg', '-i', `/tmp/debs/cuttle_${BUMPED}_amd64.deb`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(calls()).toBe(
        'systemctl --system daemon-reload\ndeb-systemd-invoke try-restart cuttle-identity.service\n' +
          'deb-systemd-invoke try-restart cuttle.service\n',
      );
      expect(inRoot(root, ['cuttle', '--version']).stdout).toBe(`cuttle ${BUMPED}\n`);
      expect(readFileSync(join(root, 'etc/cuttle/cuttle.yaml'), 'utf8')).toContain('origin.test');
      expect(readFileSync(join(root, 'var/log/cuttle/access.log'), 'utf8')).toBe('{"line":1}\n');
    });

    it('remove: stops the proxy and names cuttle-provision remove for what the package does not own', () => {
      writeFileSync(join(root, STUB_LOG), '');
      const r = inRoot(root, ['dpkg', '-r', 'cuttle']);
      expect(r.code).toBe(0);
      expect(calls()).toBe(
        'deb-systemd-invoke stop cuttle.service\ndeb-systemd-invoke stop cuttle-identity.service\n' +
          'systemctl --system daemon-reload\n',
      );
      expect(r.stderr).toContain('cuttle-provision remove --config /etc/cuttle/host.yaml');
      expect(readFileSync(join(root, 'etc/cuttle/host.yaml'), 'utf8')).toContain('origin.test');
    });

    it('purge: nothing of cuttle is left', () => {
      const r = inRoot(root, ['dpkg', '-P', 'cuttle']);
      expect(r.code).toBe(0);
      const after = snapshot(root);
      expect(after.filter((f) => !before.includes(f))).toEqual([]);
      expect(before.filter((f) => !after.includes(f))).toEqual([]);
      expect(after.filter((f) => /cuttle/.test(f))).toEqual([]);
      expect(inRoot(root, ['dpkg-query', '-W', 'cuttle']).code).not.toBe(0);
    });
  });
});
