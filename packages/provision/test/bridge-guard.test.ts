/**
 * The bridge guard (tables netdev and bridge of render/nftables.ts) in network namespaces, with br_netfilter's
 * sysctls at 0 and at 1 in the stand-in host: first what gets through without it (so the probes can see it), then
 * that with it loaded only a known (MAC, EUI-64 address) pair reaches the host, a container the sets do not know
 * is cut off until they do, containers do not reach each other, IPv4/ARP get no answer, the address take-over
 * (DAD off, the neighbour's address added, an unsolicited NA from a static tool built here) leaves the host's
 * neighbour table alone, and another bridge is untouched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardMember, renderGuardElements } from '../src/guard/guard-sets.js';
import { hostConfigSchema } from '../src/host-config/schema.js';
import { renderNftables } from '../src/render/nftables.js';
import {
  arping,
  CLIENTS,
  type Client,
  createGuardNetns,
  GUARD_BRIDGE,
  HOST_V4,
  hostNeighbour,
  inClient,
  inHost,
  listen,
  nsOf,
  ping,
  probeTcp,
  removeGuardNetns,
} from './helpers/guard-netns.js';

const PROXY_PORT = 13128;
const OTHER_PORT = 13022;
const PEER_PORT = 13080;
const TABLE = 'cpv_g';
const config = hostConfigSchema.parse({
  bridge: { name: GUARD_BRIDGE },
  proxy: { port: PROXY_PORT },
  firewall: { table: TABLE },
});
const NA_SPOOF_SRC = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'na-spoof.c');

const member = (c: Client): GuardMember => ({ name: c, mac: CLIENTS[c].mac, address: CLIENTS[c].address });

describe.skipIf(skipUnless({ root: true, commands: ['nft', 'ip', 'gcc', 'busybox'] }))(
  'the bridge guard',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpv-guard-'));
    const file = join(dir, 'cuttle.nft');
    const naSpoof = join(dir, 'na-spoof');
    const stops: (() => void)[] = [];

    beforeAll(() => {
      writeFileSync(file, renderNftables(config));
      execFileSync('gcc', ['-static', '-O2', '-o', naSpoof, NA_SPOOF_SRC], { stdio: 'pipe' });
    });
    afterAll(() => {
      removeGuardNetns();
      rmSync(dir, { recursive: true, force: true });
    });

    /** c takes a's address (DAD off) and advertises it with its own MAC. */
    const takeOver = (sources: string[]): void => {
      inClient('c', 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0');
      inClient('c', 'ip', '-6', 'addr', 'add', `${CLIENTS.a.address}/64`, 'dev', 'eth0', 'nodad');
      for (const src of sources) inClient('c', naSpoof, 'eth0', src, CLIENTS.a.address, '3');
    };
    const undoTakeOver = (): void => {
      inClient('c', 'ip', '-6', 'addr', 'del', `${CLIENTS.a.address}/64`, 'dev', 'eth0');
      inHost('ip', '-6', 'neigh', 'flush', 'dev', GUARD_BRIDGE);
    };

    for (const brNetfilter of [0, 1] as const) {
      describe(`with net.bridge.bridge-nf-call-* = ${brNetfilter}`, () => {
        beforeAll(async () => {
          while (stops.length > 0) stops.pop()?.();
          createGuardNetns(brNetfilter);
          stops.push(await listen(`cpv-gh-${process.pid.toString(36)}`, [PROXY_PORT, OTHER_PORT]));
          stops.push(await listen(nsOf('c'), [PEER_PORT]));
          stops.push(await listen(nsOf('e'), [PEER_PORT]));
          inClient('a', 'ip', '-4', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0');
        });
        afterAll(() => {
          while (stops.length > 0) stops.pop()?.();
        });

        it('without the guard: another container, ARP and the take-over all get through (the probes see it)', async () => {
          const seen = {
            proxy: await probeTcp('a', 'fe80::1', PROXY_PORT),
            peerTcp: await probeTcp('a', CLIENTS.c.address, PEER_PORT),
            peerPing: ping('a', `${CLIENTS.c.address}%eth0`),
            arp: arping('a', HOST_V4),
          };
          expect(seen).toEqual({ proxy: 'open', peerTcp: 'open', peerPing: 'answered', arp: 'answered' });
          try {
            takeOver([CLIENTS.a.address]);
            expect(hostNeighbour(CLIENTS.a.address)).toBe(CLIENTS.c.mac);
            expect(await probeTcp('c', 'fe80::1', PROXY_PORT, CLIENTS.a.address)).toBe('open');
          } finally {
            undoTakeOver();
          }
        });

        it('loaded: only known (MAC, address) pairs reach the host, and nothing between containers', async () => {
          inHost('nft', '-f', file);
          execFileSync('ip', ['netns', 'exec', `cpv-gh-${process.pid.toString(36)}`, 'nft', '-f', '-'], {
            input: renderGuardElements(TABLE, [member('a'), member('c')]),
          });
          const seen = {
            proxy: await probeTcp('a', 'fe80::1', PROXY_PORT),
            otherPort: await probeTcp('a', 'fe80::1', OTHER_PORT),
            unknownContainer: await probeTcp('f', 'fe80::1', PROXY_PORT),
            peerTcp: await probeTcp('a', CLIENTS.c.address, PEER_PORT),
            peerPing: ping('a', `${CLIENTS.c.address}%eth0`),
            arp: arping('a', HOST_V4),
            otherBridgeTcp: await probeTcp('d', CLIENTS.e.address, PEER_PORT),
            otherBridgePing: ping('d', `${CLIENTS.e.address}%eth0`),
          };
          expect(seen).toEqual({
            proxy: 'open',
            otherPort: 'closed',
            unknownContainer: 'closed',
            peerTcp: 'closed',
            peerPing: 'silent',
            arp: 'silent',
            otherBridgeTcp: 'open',
            otherBridgePing: 'answered',
          });
        });

        it("loaded: the take-over leaves the host's neighbour entry alone and its requests never arrive", async () => {
          expect(await probeTcp('a', 'fe80::1', PROXY_PORT)).toBe('open');
          const before = hostNeighbour(CLIENTS.a.address);
          expect(before).toBe(CLIENTS.a.mac);
          // From the stolen address, and from c's own address claiming a's.
          try {
            takeOver([CLIENTS.a.address, CLIENTS.c.address]);
            expect(hostNeighbour(CLIENTS.a.address)).toBe(CLIENTS.a.mac);
            expect(await probeTcp('c', 'fe80::1', PROXY_PORT, CLIENTS.a.address)).toBe('closed');
            expect(await probeTcp('a', 'fe80::1', PROXY_PORT)).toBe('open');
          } finally {
            undoTakeOver();
          }
        });

        it('a container the sets learn is let through; reloading the file keeps the sets', async () => {
          execFileSync('ip', ['netns', 'exec', `cpv-gh-${process.pid.toString(36)}`, 'nft', '-f', '-'], {
            input: renderGuardElements(TABLE, [member('a'), member('c'), member('f')]),
          });
          expect(await probeTcp('f', 'fe80::1', PROXY_PORT)).toBe('open');
          inHost('nft', '-f', file);
          expect(await probeTcp('f', 'fe80::1', PROXY_PORT)).toBe('open');
          expect(await probeTcp('f', CLIENTS.c.address, PEER_PORT)).toBe('closed');
          const listed = inHost('nft', 'list', 'table', 'netdev', TABLE);
          expect(listed.match(/jump from_container/g)).toHaveLength(1);
          const bad = join(dir, 'bad.nft');
          writeFileSync(
            bad,
            renderNftables(config).replace('ether saddr . ip6 saddr', 'ether saddrx . ip6 saddr'),
          );
          const ns = `cpv-gh-${process.pid.toString(36)}`;
          expect(spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', bad]).status).not.toBe(0);
        });
      });
    }
  },
);
