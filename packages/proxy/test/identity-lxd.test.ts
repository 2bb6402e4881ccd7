/**
 * Container identity end to end against the private LXD daemon: `cuttle-provision identity --watch` follows LXD's
 * lifecycle events and writes the map; the proxy, listening on the bridge, follows the map. A real container
 * fetches through the proxy: its lines carry its instance name, and deleting it removes it from the map.
 *
 * Its NIC has `security.mac_filtering` but not `security.ipv6_filtering`: on LXD 5.0.2 a bridge whose only IPv6 is
 * link-local gets `ether type ip6 drop` for a NIC with ipv6_filtering (no subnet to allow), which cuts the container
 * off from the proxy. Without both filters the identity is advisory, so the container's own `containers:` list must
 * NOT apply: that is asserted here, end to end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLinkLocalLxdBridge,
  createTestProfile,
  deleteContainer,
  execIn,
  LXD_TEST_TAG,
  launchContainer,
  lxcOk,
  lxdWorld,
  type OriginProcess,
  type ProxyProcess,
  skipUnlessLxd,
  waitFor as until,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BRIDGE = `opsbr${LXD_TEST_TAG}`;
const POOL = `ops-pool-${LXD_TEST_TAG}`;
const PROFILE = `ops-id-${LXD_TEST_TAG}`;
const CTR = `ops-c1-${LXD_TEST_TAG}`;

describe.skipIf(skipUnlessLxd())('container identity through LXD (private daemon)', () => {
  const world = lxdWorld('ops-lxd-', {
    containers: [CTR],
    profiles: [PROFILE],
    networks: [BRIDGE],
    pools: [POOL],
  });
  let mapFile: string;
  let origin: OriginProcess;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    const w = await world.setUp();
    mapFile = join(w.dir, 'identity.json');
    await lxcOk(['storage', 'create', POOL, 'dir']);
    await createLinkLocalLxdBridge(BRIDGE);
    await createTestProfile(PROFILE, POOL, BRIDGE);
    await w.watchIdentity(mapFile);
    origin = w.origin;
    proxy = await w.startProxy(
      {
        listen: [`${BRIDGE}:0`],
        clients: ['fe80::/10'],
        ports: [origin.port],
        allow: ['origin.test'],
        containers: { [CTR]: { allow: ['extra.test'] } },
        identity: { map_file: mapFile },
        dns: { hosts: { 'origin.test': ['127.0.0.1'], 'extra.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
      },
      // The bridge has no carrier (so node lists no address for it) until a container is attached: the proxy
      // says so and binds when the container is up.
      { listeners: 0 },
    );
  }, 180_000);

  afterAll(() => world.tearDown(), 120_000);

  it('maps a launched container; the proxy logs its name and, the identity being advisory, grants nothing by it', async () => {
    await launchContainer(CTR, [PROFILE]);
    const map = await until(
      'the container in the map',
      () => (existsSync(mapFile) ? readFileSync(mapFile, 'utf8') : ''),
      (t) => t.includes(`"name":"${CTR}"`),
    );
    const entry = (
      JSON.parse(map) as { instances: { name: string; bridge: string; filtered: boolean }[] }
    ).instances.find((i) => i.name === CTR);
    expect(entry).toMatchObject({ bridge: BRIDGE, filtered: false });
    await proxy.waitForStderr(/identity map \S+: [1-9]\d* instance/, 10_000);
    await proxy.waitForStderr(/listening on \[fe80::1%/, 30_000);
    const endpoint = proxy.endpoints[0] as string;
    const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));

    const fetch = (host: string, path: string) =>
      execIn(
        CTR,
        [
          'env',
          `http_proxy=http://[fe80::1%eth0]:${port}`,
          'wget',
          '-q',
          '-O-',
          `http://${host}:${origin.port}${path}`,
        ],
        20_000,
      );
    // The container's address may still be tentative (DAD) right after start.
    const ok = await until(
      'a fetch through the proxy',
      () => fetch('origin.test', '/lxd-1'),
      (r) => r.code === 0,
      60_000,
    );
    expect(ok.stdout).toContain('origin saw GET /lxd-1');
    const extra = await fetch('extra.test', '/lxd-2');
    expect(extra.code).not.toBe(0);
    const denied = await fetch('other.test', '/lxd-3');
    expect(denied.code).not.toBe(0);
    await until(
      'three log lines',
      () => proxy.accessLog().filter((r) => String(r.path).startsWith('/lxd-')).length,
      (n) => n >= 3,
      10_000,
    );
    const recs = proxy.accessLog().filter((r) => String(r.path).startsWith('/lxd-'));
    expect(recs.find((r) => r.path === '/lxd-1')).toMatchObject({
      container: CTR,
      verdict: 'allow',
      rule: 'origin.test',
    });
    expect(recs.find((r) => r.path === '/lxd-2')).toMatchObject({
      container: CTR,
      verdict: 'deny',
      reason: 'not_allowlisted',
    });
    expect(recs.find((r) => r.path === '/lxd-3')).toMatchObject({ container: CTR, verdict: 'deny' });
  }, 180_000);

  it('drops a deleted container from the map', async () => {
    await deleteContainer(CTR);
    await until(
      'the container gone from the map',
      () => readFileSync(mapFile, 'utf8'),
      (t) => !t.includes(`"name":"${CTR}"`),
    );
  }, 60_000);
});
