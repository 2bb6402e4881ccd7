import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  CUTTLE_MAIN,
  deleteContainer,
  execIn,
  launchContainer,
  lxc,
  type Origin,
  skipUnlessLxd,
  startOrigin,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTables, hostYaml, provision, syncGuard, T, TEST_HOST_YAML } from './helpers/cli.js';

const SKIP = skipUnlessLxd();
const PROBE_PORT = T.probePort;
const C = T.container;

async function cleanupLxd(): Promise<void> {
  await deleteContainer(C);
  await lxc(['profile', 'delete', `${T.profile}`]);
  await lxc(['network', 'delete', `${T.bridge}`]);
  await lxc(['storage', 'delete', `${T.pool}`]);
  dropTables(T.table);
}

describe.skipIf(SKIP)('a container on the provisioned host, through a running cuttle', () => {
  let origin: Origin;
  let proxy: ChildProcess | undefined;
  let probe: Server | undefined;
  let host: ReturnType<typeof hostYaml>;
  let args: string[];
  let proxyErr = '';

  beforeAll(async () => {
    await cleanupLxd();
    origin = await startOrigin();
    const settings = {
      dns: {
        hosts: { 'allowed.test': ['127.0.0.1'], 'denied.test': ['127.0.0.1'] },
        servers: ['127.0.0.1:1'],
      },
      ports: [origin.port],
      destinations: { allow_ranges: ['127.0.0.0/8'] },
      metrics: { listen: null },
    };
    host = hostYaml(
      TEST_HOST_YAML.replace(
        '  allow: [allowed.test]\n',
        `  allow: [allowed.test]\n  settings: ${JSON.stringify(settings)}\n`,
      ),
    );
    args = ['--config', host.file, '--root', host.root];
    const applied = await provision(['apply', ...args]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    // The generated config file, run as the unit would run it.
    proxy = spawn(
      process.execPath,
      [CUTTLE_MAIN, 'run', '--config', join(host.root, 'etc/cuttle/cuttle.yaml')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      proxy?.stderr?.on('data', (d: Buffer) => {
        proxyErr += d.toString();
        if (proxyErr.includes('listening on')) resolve();
      });
      proxy?.on('exit', (code) => reject(new Error(`cuttle exited ${code}: ${proxyErr}`)));
    });
    probe = createServer((s) => s.end('probe\n')).listen({ host: '::', port: PROBE_PORT });
    await launchContainer(C, [`${T.profile}`]);
    await syncGuard(T.table, T.bridge);
  });

  afterAll(async () => {
    probe?.close();
    proxy?.kill();
    await origin?.close();
    if (host !== undefined) {
      await provision(['remove', ...args]);
      rmSync(host.dir, { recursive: true, force: true });
    }
    await cleanupLxd();
  });

  it('plan after apply has nothing to do', async () => {
    const r = await provision(['plan', ...args]);
    expect(r.code).toBe(0);
  });

  it("fetches an allowed origin through the profile's http_proxy", async () => {
    const r = await execIn(C, ['wget', '-q', '-O', '-', `http://allowed.test:${origin.port}/hello`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('origin saw GET');
    expect(origin.requests.map((q) => q.url)).toContain('/hello');
  });

  it('gets 403 for a denied name, and the origin never sees it', async () => {
    const before = origin.requests.length;
    const r = await execIn(C, ['wget', '-S', '-O', '/dev/null', `http://denied.test:${origin.port}/no`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HTTP\/1\.1 403/);
    expect(origin.requests.length).toBe(before);
  });

  it("cannot connect directly: no route to the host's addresses, nothing on the bridge but the proxy", async () => {
    // The host's own addresses (not loopback, not link-local): no route from the container.
    const own = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
      .map((a) => a?.address ?? '');
    for (const addr of own) {
      const direct = await execIn(C, ['timeout', '5', 'nc', '-w', '3', addr, String(origin.port)]);
      expect(direct.code, addr).not.toBe(0);
    }
    const noProxy = await execIn(C, [
      'env',
      '-u',
      'http_proxy',
      'timeout',
      '5',
      'wget',
      '-O',
      '/dev/null',
      `http://127.0.0.1:${origin.port}/`,
    ]);
    expect(noProxy.code).not.toBe(0);
    const probeOnBridge = await execIn(C, [
      'timeout',
      '5',
      'nc',
      '-w',
      '3',
      'fe80::1%eth0',
      String(PROBE_PORT),
    ]);
    expect(probeOnBridge.stdout).not.toContain('probe');
  });

  it('verify --instance passes every check', async () => {
    const r = await provision([
      'verify',
      ...args,
      '--instance',
      C,
      '--port',
      String(PROBE_PORT),
      '--url',
      `http://allowed.test:${origin.port}/`,
    ]);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`PASS +proxy listens only on \\[fe80::1%${T.bridge}\\]:${T.proxyPort}`),
    );
    expect(r.stdout).toMatch(new RegExp(`PASS +${C}: no default route`));
  });

  it('verify --instance fails, naming the checks, when the firewall table is removed', async () => {
    // All three (inet, netdev guard, bridge): the guard alone also keeps the probe port from the bridge.
    dropTables(T.table);
    const r = await provision(['verify', ...args, '--instance', C, '--port', String(PROBE_PORT)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`FAIL +firewall table inet ${T.table} loaded +not loaded`));
    expect(r.stdout).toMatch(
      new RegExp(`FAIL +${C}: nothing answers on \\[fe80::1%eth0\\]:${PROBE_PORT}/tcp +open`),
    );
    // apply puts it back
    expect((await provision(['apply', ...args])).code).toBe(0);
  });

  it('remove refuses while the container is attached (exit 1, naming it); --force keeps the tables', async () => {
    const refused = await provision(['remove', ...args]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `instances still attached: ${C} (bridge ${T.bridge}, profile ${T.profile})`,
    );
    expect(existsSync(join(host.root, 'etc/cuttle/cuttle.yaml'))).toBe(true);
    const forced = await provision(['remove', '--force', ...args]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`kept the nftables tables ${T.table}`);
    expect(existsSync(join(host.root, 'etc/cuttle/cuttle.yaml'))).toBe(false);
    for (const family of ['inet', 'netdev', 'bridge'])
      expect(spawnSync('nft', ['list', 'table', family, T.table]).status, family).toBe(0);
    // Still filtered: the probe on [::] does not answer from the bridge.
    const probeOnBridge = await execIn(C, [
      'timeout',
      '5',
      'nc',
      '-w',
      '3',
      'fe80::1%eth0',
      String(PROBE_PORT),
    ]);
    expect(probeOnBridge.stdout).not.toContain('probe');
    // Without the container, the next test's remove takes everything.
    await deleteContainer(C);
    expect((await provision(['apply', ...args])).code).toBe(0);
  });

  it('remove takes away the files and the table, never the pool', async () => {
    const r = await provision(['remove', ...args]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed nftables inet ${T.table}`);
    expect(existsSync(join(host.root, 'etc/cuttle/cuttle.yaml'))).toBe(false);
    expect(existsSync(join(host.root, 'etc/systemd/system/cuttle.service.d/cuttle-provision.conf'))).toBe(
      false,
    );
    expect(spawnSync('nft', ['list', 'table', 'inet', `${T.table}`]).status).not.toBe(0);
    expect((await lxc(['storage', 'show', `${T.pool}`])).code).toBe(0);
    expect((await provision(['remove', ...args])).stdout).toBe('Nothing to remove.\n');
  });

  it('everything the test created goes away', async () => {
    await cleanupLxd();
    for (const what of [
      ['info', C],
      ['profile', 'show', T.profile],
      ['network', 'show', T.bridge],
      ['storage', 'show', T.pool],
    ])
      expect((await lxc(what)).code, what.join(' ')).not.toBe(0);
    expect(spawnSync('ip', ['link', 'show', 'dev', T.bridge]).status).not.toBe(0);
  });
});
