/**
 * The bridge guard against the private LXD daemon, with two real containers on the provisioned bridge and a running
 * cuttle: the address take-over (the attacker turns DAD off, adds the victim's address, sends unsolicited NAs with
 * a static tool built here from source, and sends a request from the victim's address) leaves the host's neighbour
 * entry and cuttle's log attribution alone; container-to-container TCP and ICMPv6 get nowhere with
 * `net.bridge.bridge-nf-call-*` at 0 (host-wide: restored after); an IPv4 address added inside gets no ARP answer
 * from the host; a container the guard does not know yet is cut off until the sets learn it; `verify --instance`
 * passes its guard checks. Names are test-only (`cpg-*-TAG`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  execIn,
  LXD_TEST_TAG,
  type LxdWorld,
  launchContainer,
  lxcOk,
  lxdTestPort,
  lxdWorld,
  originSettings,
  type ProxyProcess,
  skipUnlessLxd,
  waitFor,
  wgetHeadersIn,
  wgetIn,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eui64LinkLocal } from '../src/identity/collect.js';
import {
  generatedProxyConfig,
  hostYaml,
  provision,
  RUNTIME_YAML,
  syncGuard,
  verifyPasses,
} from './helpers/cli.js';

const SKIP = skipUnlessLxd();
const G = {
  pool: `cpg-pool-${LXD_TEST_TAG}`,
  bridge: `cpgbr${LXD_TEST_TAG}`,
  profile: `cpg-prof-${LXD_TEST_TAG}`,
  victim: `cpg-v-${LXD_TEST_TAG}`,
  attacker: `cpg-a-${LXD_TEST_TAG}`,
  late: `cpg-l-${LXD_TEST_TAG}`,
  table: `cpg_${LXD_TEST_TAG}`,
  port: lxdTestPort(20),
} as const;
const NA_SPOOF_SRC = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'na-spoof.c');
const BR_NF = ['iptables', 'ip6tables', 'arptables'].map((k) => `/proc/sys/net/bridge/bridge-nf-call-${k}`);

async function macOf(name: string): Promise<string> {
  return (await lxcOk(['config', 'get', name, 'volatile.eth0.hwaddr'])).trim().toLowerCase();
}

function hostNeighbour(address: string): string | null {
  const out = execFileSync('ip', ['-6', 'neigh', 'show', 'to', address, 'dev', G.bridge], {
    encoding: 'utf8',
  });
  return /lladdr (\S+)/.exec(out)?.[1] ?? null;
}

describe.skipIf(SKIP)(
  'the bridge guard on a provisioned LXD host, two containers and a running cuttle',
  () => {
    const world = lxdWorld('cpg-', {
      containers: [G.victim, G.attacker, G.late],
      profiles: [G.profile],
      networks: [G.bridge],
      pools: [G.pool],
      nftTables: [G.table],
    });
    let proxy: ProxyProcess;
    let origin: { port: number };
    let args: string[];
    let victim: { mac: string; address: string };
    let attacker: { mac: string; address: string };
    let proxyUrl: string;
    let w: LxdWorld;
    let generated: Record<string, unknown>;

    beforeAll(async () => {
      w = await world.setUp();
      origin = w.origin;
      const host = hostYaml(`pool:
  name: ${G.pool}
  driver: dir
bridge:
  name: ${G.bridge}
  hwaddr: 00:16:3e:cf:0a:01
profile:
  name: ${G.profile}
proxy:
  port: ${G.port}
  allow: [allowed.test]
  settings: ${JSON.stringify(originSettings(w.origin, ['allowed.test', 'granted.test']))}
${RUNTIME_YAML}firewall:
  table: ${G.table}
  file: /etc/cuttle/cpg.nft
`);
      args = ['--config', host.file, '--root', host.root];
      w.onTearDown(() => provision(['remove', '--force', ...args]).then(() => host.remove()));
      const applied = await provision(['apply', ...args]);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      generated = generatedProxyConfig(host.root);
      proxy = await w.startProxy(generated);
      await launchContainer(G.victim, [G.profile]);
      await launchContainer(G.attacker, [G.profile]);
      await syncGuard(G.table, G.bridge);
      const vm = await macOf(G.victim);
      const am = await macOf(G.attacker);
      victim = { mac: vm, address: eui64LinkLocal(vm) };
      attacker = { mac: am, address: eui64LinkLocal(am) };
      proxyUrl = `http://[fe80::1%eth0]:${G.port}`;
      const bin = join(w.dir, 'na-spoof');
      execFileSync('gcc', ['-static', '-O2', '-o', bin, NA_SPOOF_SRC], { stdio: 'pipe' });
      await lxcOk(['file', 'push', bin, `${G.attacker}/tmp/na-spoof`, '--mode', '0755']);
    }, 300_000);

    afterAll(() => world.tearDown(), 120_000);

    it('both containers reach the proxy, and cuttle logs each under its own address', async () => {
      for (const [name, who] of [
        [G.victim, victim],
        [G.attacker, attacker],
      ] as const) {
        const r = await wgetIn(name, `http://allowed.test:${origin.port}/${name}`);
        expect(r.stdout).toBe(`origin saw GET /${name}\n`);
        const rec = await proxy.waitForRecord((x) => x.path === `/${name}`, 10_000);
        expect(String(rec.client)).toBe(`${who.address}%${G.bridge}`);
      }
    });

    it('without the guard the take-over works (the probe can see it)', async () => {
      const sh = (cmd: string[]) => execIn(G.attacker, cmd);
      execFileSync('nft', ['delete', 'table', 'netdev', G.table]);
      try {
        expect((await sh(['sysctl', '-w', 'net.ipv6.conf.eth0.accept_dad=0'])).code).toBe(0);
        expect((await sh(['ip', '-6', 'addr', 'add', `${victim.address}/64`, 'dev', 'eth0'])).code).toBe(0);
        expect((await sh(['/tmp/na-spoof', 'eth0', victim.address, victim.address, '3'])).stdout).toBe(
          'sent 3\n',
        );
        expect(hostNeighbour(victim.address)).toBe(attacker.mac);
      } finally {
        await sh(['ip', '-6', 'addr', 'del', `${victim.address}/64`, 'dev', 'eth0']);
        execFileSync('ip', ['-6', 'neigh', 'flush', 'dev', G.bridge]);
        expect((await provision(['apply', ...args])).code).toBe(0);
      }
    });

    it("the address take-over: the host's neighbour entry stays the victim's, the request never reaches cuttle", async () => {
      const sh = (cmd: string[]) => execIn(G.attacker, cmd);
      try {
        expect((await sh(['sysctl', '-w', 'net.ipv6.conf.eth0.accept_dad=0'])).code).toBe(0);
        expect((await sh(['ip', '-6', 'addr', 'add', `${victim.address}/64`, 'dev', 'eth0'])).code).toBe(0);
        const sent = await sh(['/tmp/na-spoof', 'eth0', victim.address, victim.address, '5']);
        expect(sent.stdout).toBe('sent 5\n');
        expect(await sh(['/tmp/na-spoof', 'eth0', attacker.address, victim.address, '5'])).toMatchObject({
          code: 0,
        });
        expect(hostNeighbour(victim.address)).not.toBe(attacker.mac);
        expect(
          (await sh(['ip', '-6', 'route', 'add', 'fe80::1/128', 'dev', 'eth0', 'src', victim.address])).code,
        ).toBe(0);
        const r = await execIn(G.attacker, [
          'env',
          `http_proxy=${proxyUrl}`,
          'timeout',
          '8',
          'wget',
          '-q',
          '-O',
          '-',
          `http://allowed.test:${origin.port}/takeover`,
        ]);
        expect(r.stdout).not.toContain('origin saw');
        expect(hostNeighbour(victim.address)).not.toBe(attacker.mac);
      } finally {
        await sh(['ip', '-6', 'route', 'del', 'fe80::1/128', 'dev', 'eth0', 'src', victim.address]);
        await sh(['ip', '-6', 'addr', 'del', `${victim.address}/64`, 'dev', 'eth0']);
      }
      // The victim keeps the proxy, under its own address; nothing was logged for the take-over.
      const ok = await wgetIn(G.victim, `http://allowed.test:${origin.port}/after`);
      expect(ok.stdout).toBe('origin saw GET /after\n');
      const rec = await proxy.waitForRecord((x) => x.path === '/after', 10_000);
      expect(String(rec.client)).toBe(`${victim.address}%${G.bridge}`);
      expect(proxy.accessLog().filter((x) => x.path === '/takeover')).toEqual([]);
    });

    it('container to container: no TCP, no ICMPv6, with net.bridge.bridge-nf-call-* at 0', async () => {
      const saved = BR_NF.map((p) => readFileSync(p, 'utf8').trim());
      try {
        for (const p of BR_NF) writeFileSync(p, '0');
        await execIn(G.attacker, ['sh', '-c', 'nc -l -p 8080 -e echo hi >/dev/null 2>&1 &']);
        const tcp = await execIn(G.victim, [
          'timeout',
          '5',
          'nc',
          '-w',
          '3',
          `${attacker.address}%eth0`,
          '8080',
        ]);
        expect(tcp.stdout).not.toContain('hi');
        const ping = await execIn(G.victim, [
          'timeout',
          '5',
          'ping6',
          '-c',
          '2',
          '-W',
          '1',
          '-I',
          'eth0',
          attacker.address,
        ]);
        expect(ping.code).not.toBe(0);
        // The proxy still answers with br_netfilter off: the guard does not depend on it.
        expect((await wgetIn(G.victim, `http://allowed.test:${origin.port}/nf0`)).stdout).toBe(
          'origin saw GET /nf0\n',
        );
      } finally {
        BR_NF.forEach((p, i) => {
          writeFileSync(p, saved[i] ?? '1');
        });
        await execIn(G.attacker, ['sh', '-c', 'pkill nc; true']);
      }
    });

    it("an IPv4 address added inside gets no ARP answer for the host's IPv4 address", async () => {
      const v4 = Object.values(networkInterfaces())
        .flat()
        .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
      expect(v4, 'the host needs an IPv4 address to ask for').toBeDefined();
      try {
        expect(
          (await execIn(G.victim, ['ip', '-4', 'addr', 'add', '192.0.2.77/24', 'dev', 'eth0'])).code,
        ).toBe(0);
        const r = await execIn(G.victim, [
          'timeout',
          '6',
          'arping',
          '-f',
          '-c',
          '2',
          '-w',
          '4',
          '-I',
          'eth0',
          String(v4),
        ]);
        expect(r.code).not.toBe(0);
        expect(r.stdout).not.toMatch(/reply from/i);
      } finally {
        await execIn(G.victim, ['ip', '-4', 'addr', 'del', '192.0.2.77/24', 'dev', 'eth0']);
      }
    });

    it('a container the guard does not know is cut off until the sets learn it; verify says what the guard holds', async () => {
      await launchContainer(G.late, [G.profile]);
      const before = await execIn(G.late, [
        'env',
        `http_proxy=${proxyUrl}`,
        'timeout',
        '6',
        'wget',
        '-q',
        '-O',
        '-',
        `http://allowed.test:${origin.port}/late`,
      ]);
      expect(before.stdout).not.toContain('origin saw');
      const stale = await provision(['verify', ...args]);
      expect(stale.code).toBe(1);
      expect(stale.stdout).toMatch(
        new RegExp(`FAIL +bridge guard holds the instances on ${G.bridge} +missing ${G.late}`),
      );
      await syncGuard(G.table, G.bridge);
      expect((await wgetIn(G.late, `http://allowed.test:${origin.port}/late`)).stdout).toBe(
        'origin saw GET /late\n',
      );
    });

    it('a container with a link-local address that is not EUI-64 is named by verify: the guard cuts it off', async () => {
      const sh = (cmd: string) => execIn(G.late, ['sh', '-c', cmd]);
      await sh(
        'sysctl -w net.ipv6.conf.eth0.addr_gen_mode=3 && ip link set eth0 down && ip link set eth0 up',
      );
      const r = await provision(['verify', ...args, '--instance', G.late]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(
          `FAIL +${G.late}: link-local address is the EUI-64 of its MAC +${G.late} has fe80:[^ ]*, not fe80:`,
        ),
      );
    });

    it('verify --instance passes, the guard checks included; remove refuses while they are attached', async () => {
      const r = await verifyPasses(args, G.victim, `http://allowed.test:${origin.port}/verify`);
      for (const name of [
        `bridge guard netdev ${G.table} on ${G.bridge}`,
        `bridge guard holds the instances on ${G.bridge}`,
        `${G.victim}: link-local address is the EUI-64 of its MAC`,
        `${G.victim}: a claimed address gets nowhere`,
        `${G.victim}: no other instance on the bridge answers`,
        `${G.victim}: no IPv4, no ARP answer from the host`,
      ])
        expect(r.stdout).toMatch(new RegExp(`PASS +${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const refused = await provision(['remove', ...args]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(G.victim);
      expect(refused.stderr).toContain(G.attacker);
    });

    it('identity --watch --guard-*: the map marks the NICs filtered, and per-container grants work in bridge mode', async () => {
      const map = join(w.dir, 'identity.json');
      await w.watchIdentity(map, ['--guard-table', G.table, '--guard-bridge', G.bridge]);
      type Entry = { name: string; filtered: boolean };
      const entries = await waitFor(
        'the identity map',
        (): Entry[] => {
          try {
            return (JSON.parse(readFileSync(map, 'utf8')) as { instances: Entry[] }).instances;
          } catch {
            return [];
          }
        },
        (list) => list.some((e) => e.name === G.victim),
      );
      expect(entries.find((e) => e.name === G.victim)?.filtered).toBe(true);
      await proxy.stop();
      proxy = await w.startProxy({
        ...generated,
        identity: { map_file: map },
        containers: { [G.victim]: { allow: ['granted.test'] } },
      });
      const granted = await wgetIn(G.victim, `http://granted.test:${origin.port}/grant`);
      expect(granted.stdout).toBe('origin saw GET /grant\n');
      const rec = await proxy.waitForRecord((x) => x.path === '/grant', 10_000);
      expect(rec.container).toBe(G.victim);
      const denied = await wgetHeadersIn(G.attacker, `http://granted.test:${origin.port}/grant`);
      expect(denied.stderr).toMatch(/HTTP\/1\.1 403/);
    });
  },
);
