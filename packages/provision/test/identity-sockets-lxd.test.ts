/**
 * Per-instance sockets end to end against the private LXD daemon: `cuttle-provision identity --watch --socket-dir
 * DIR` lists every instance that opted in (`user.cuttle.socket=true`, here on its profile) with `"socket": true` and
 * gives it the proxy device `cuttle` (listen=tcp:127.0.0.1:3128 connect=unix:DIR/NAME.sock bind=container); the
 * proxy, following the map with `identity.socket_dir: DIR`, binds DIR/NAME.sock. Two containers with no NIC fetch
 * through their own device and socket: each is logged by its own name, and only the one named in `containers:`
 * gets its grant. An instance that did not opt in gets no device; a deleted one leaves the map and its socket goes;
 * one that opts out loses device, map line and socket. The profile also carries a shared-socket device `cuttle` (as
 * provisioning's `mode: socket` writes it): the instance's own device overrides it, and applies again on opt-out.
 * Names are test-only (`cpc-TAG-*`) and removed in afterAll.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestProfile,
  execIn,
  type IdentityWatcher,
  LXD_TEST_IMAGE,
  LXD_TEST_TAG,
  launchContainer,
  lxc,
  lxcOk,
  lxdWorld,
  type OriginProcess,
  type ProxyProcess,
  skipUnlessLxd,
  waitFor as until,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const POOL = `cpc-${LXD_TEST_TAG}-pool`;
const PROFILE = `cpc-${LXD_TEST_TAG}-sock`;
const PLAIN = `cpc-${LXD_TEST_TAG}-plain`;
const CTR_A = `cpc-${LXD_TEST_TAG}-a`;
const CTR_B = `cpc-${LXD_TEST_TAG}-b`;
const CTR_C = `cpc-${LXD_TEST_TAG}-c`;

/** The map file's lines (instances), or [] while it is not there. */
function mapLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { instances: Record<string, unknown>[] }).instances;
}

/** KEY of the instance's own device `cuttle` (not the profile's), or '' when it has none. */
async function deviceKey(name: string, key: string): Promise<string> {
  const r = await lxc(['query', `/1.0/instances/${name}`]);
  if (r.code !== 0) return '';
  const inst = JSON.parse(r.stdout) as { devices?: Record<string, Record<string, string>> };
  return inst.devices?.cuttle?.[key] ?? '';
}

describe.skipIf(skipUnlessLxd())('per-instance sockets and devices (private LXD daemon)', () => {
  const world = lxdWorld('cpc-', {
    containers: [CTR_A, CTR_B, CTR_C],
    profiles: [PROFILE, PLAIN],
    pools: [POOL],
  });
  let sockDir: string;
  let mapFile: string;
  let watcher: IdentityWatcher;
  let origin: OriginProcess;
  let proxy: ProxyProcess;
  const sockOf = (name: string): string => join(sockDir, `${name}.sock`);
  const wget = (name: string, url: string) =>
    execIn(name, ['env', 'http_proxy=http://127.0.0.1:3128', 'wget', '-q', '-O-', url], 60_000);

  beforeAll(async () => {
    const w = await world.setUp();
    const dir = w.dir;
    sockDir = join(dir, 's');
    mkdirSync(sockDir);
    mapFile = join(dir, 'identity.json');
    await lxcOk(['storage', 'create', POOL, 'dir']);
    // Only a root disk: no NIC at all.
    for (const p of [PROFILE, PLAIN]) await createTestProfile(p, POOL);
    await lxcOk(['profile', 'set', PROFILE, 'user.cuttle.socket=true']);
    // The profile's own device, as provisioning's `mode: socket` writes it: the shared socket. An opted-in
    // instance's device of the same name overrides it.
    await lxcOk([
      'profile',
      'device',
      'add',
      PROFILE,
      'cuttle',
      'proxy',
      'listen=tcp:127.0.0.1:3128',
      `connect=unix:${join(dir, 'shared.sock')}`,
      'bind=container',
    ]);
    origin = w.origin;
    proxy = await w.startProxy(
      {
        listen: ['127.0.0.1:0', `unix:${join(dir, 'shared.sock')}`],
        ports: [origin.port],
        allow: ['allowed.test'],
        containers: { [CTR_A]: { allow: ['extra.test'] } },
        identity: { map_file: mapFile, socket_dir: sockDir },
        dns: { hosts: { 'allowed.test': ['127.0.0.1'], 'extra.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
      },
      { listeners: 2 },
    );
    watcher = await w.watchIdentity(mapFile, ['--socket-dir', sockDir]);
  }, 180_000);

  afterAll(() => world.tearDown(), 120_000);

  it('gives each opted-in instance its device, map line and socket; an instance that did not opt in gets none', async () => {
    await launchContainer(CTR_A, [PROFILE], null);
    await launchContainer(CTR_B, [PROFILE], null);
    await lxcOk(['init', LXD_TEST_IMAGE, CTR_C, '-p', PLAIN]);
    for (const c of [CTR_A, CTR_B]) {
      expect(
        await until(
          `${c}'s device`,
          () => deviceKey(c, 'connect'),
          (v) => v !== '',
        ),
      ).toBe(`unix:${sockOf(c)}`);
      expect(await deviceKey(c, 'listen')).toBe('tcp:127.0.0.1:3128');
      expect(await deviceKey(c, 'bind')).toBe('container');
      await until(
        `${c}'s socket`,
        () => existsSync(sockOf(c)),
        (v) => v,
      );
    }
    await until(
      'the map',
      () => mapLines(mapFile),
      (l) => l.length === 2,
    );
    expect(mapLines(mapFile)).toEqual([
      { name: CTR_A, socket: true },
      { name: CTR_B, socket: true },
    ]);
    expect(await deviceKey(CTR_C, 'connect')).toBe('');
    expect(existsSync(sockOf(CTR_C))).toBe(false);
    expect(watcher.stderr()).toContain(`instance ${CTR_A}: device cuttle connects to unix:${sockOf(CTR_A)}`);
  }, 240_000);

  it('identifies each container by its socket: its own name in the log, its own grants only', async () => {
    const a = await until(
      `${CTR_A} fetching through its device`,
      () => wget(CTR_A, `http://extra.test:${origin.port}/extra-a`),
      (r) => r.code === 0,
      30_000,
    );
    expect(a.stdout).toBe('origin saw GET /extra-a\n');
    const b = await wget(CTR_B, `http://extra.test:${origin.port}/extra-b`);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/403/);
    const plain = await wget(CTR_B, `http://allowed.test:${origin.port}/plain-b`);
    expect(plain.stdout).toBe('origin saw GET /plain-b\n');
    const line = (p: string) => proxy.waitForRecord((l) => l.path === p, 10_000);
    expect(await line('/extra-a')).toMatchObject({
      client: `unix:${CTR_A}`,
      container: CTR_A,
      verdict: 'allow',
      rule: `containers.${CTR_A}: extra.test`,
    });
    expect(await line('/extra-b')).toMatchObject({
      client: `unix:${CTR_B}`,
      container: CTR_B,
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
    });
    expect(await line('/plain-b')).toMatchObject({ client: `unix:${CTR_B}`, verdict: 'allow' });
  }, 120_000);

  it('puts the map back within seconds when it is removed (the proxy runtime directory it lives in goes at a stop)', async () => {
    rmSync(mapFile);
    await until(
      'the map written again',
      () => mapLines(mapFile),
      (l) => l.length === 2,
      10_000,
    );
    // By the keeper within a second, or by a sync that an LXD event (the exec of the test before) started: either
    // way the map is back long before the 60 s resync (the keeper's own cases: identity-map-keeper.test.ts).
    const a = await until(
      `${CTR_A} fetching its grant after the map came back`,
      () => wget(CTR_A, `http://extra.test:${origin.port}/extra-again`),
      (r) => r.code === 0,
      30_000,
    );
    expect(a.stdout).toBe('origin saw GET /extra-again\n');
  }, 60_000);

  it('drops a deleted instance from the map, and the proxy removes its socket', async () => {
    await lxcOk(['delete', '--force', CTR_B]);
    await until(
      'the map without the deleted instance',
      () => mapLines(mapFile),
      (l) => !l.some((e) => e.name === CTR_B),
    );
    expect(mapLines(mapFile)).toEqual([{ name: CTR_A, socket: true }]);
    await until(
      'the socket gone',
      () => existsSync(sockOf(CTR_B)),
      (v) => !v,
    );
    expect(existsSync(sockOf(CTR_A))).toBe(true);
  }, 120_000);

  it('takes its device and socket away from an instance that opts out: the profile device applies again', async () => {
    await lxcOk(['config', 'set', CTR_A, 'user.cuttle.socket=false']);
    await until(
      `${CTR_A}'s device gone`,
      () => deviceKey(CTR_A, 'connect'),
      (v) => v === '',
    );
    await until(
      'the map without socket lines',
      () => mapLines(mapFile),
      (l) => l.length === 0,
    );
    await until(
      `${CTR_A}'s socket gone`,
      () => existsSync(sockOf(CTR_A)),
      (v) => !v,
    );
    expect(watcher.stderr()).toContain(`instance ${CTR_A}: removed device cuttle (no longer opted in)`);
    // The profile's device (the shared socket) is back in force: the same URL, the shared identity.
    const r = await until(
      `${CTR_A} through the shared socket`,
      () => wget(CTR_A, `http://allowed.test:${origin.port}/after-opt-out`),
      (x) => x.code === 0,
      30_000,
    );
    expect(r.stdout).toBe('origin saw GET /after-opt-out\n');
    const line = await proxy.waitForRecord((l) => l.path === '/after-opt-out', 10_000);
    expect(line).toMatchObject({ client: 'unix:shared', container: 'shared' });
  }, 120_000);
});
