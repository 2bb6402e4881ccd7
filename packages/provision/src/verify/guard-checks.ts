/**
 * `verify` of the bridge guard (render/nftables.ts). On the host: the netdev table is loaded on the bridge device,
 * the bridge table is loaded, and the guard's pairs are exactly the NICs LXD has on the bridge. From inside a
 * bridge-mode instance, with busybox and without disturbing its neighbours:
 * - its link-local address is the EUI-64 address of its MAC (else the guard drops all it sends: stable-privacy
 *   addressing, `addr_gen_mode` 2 or 3, cuts a container off);
 * - it claims an address no instance has (DAD off, the address added, a host route to the proxy address with that
 *   source) and connects to the proxy from it: the guard must drop it, and the host must not learn the address
 *   (its neighbour table); then the address and route are removed again (the instance's own connections to the
 *   proxy use the claimed source for those few seconds);
 * - another running instance on the bridge does not answer ping;
 * - with an IPv4 address added for the moment, an ARP request for the host's IPv4 address gets no answer.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { expectedPairs, guardDevice, readGuardPairs } from '../guard/guard-sets.js';
import type { HostConfig } from '../host-config/schema.js';
import { eui64LinkLocal } from '../identity/collect.js';
import type { LxdClient } from '../lxd/client.js';
import { execInInstance } from '../lxd/exec.js';
import { bridgeAddress } from '../render/proxy-url.js';
import type { HostFacts } from '../resources/facts.js';
import { bridgeMembers } from '../resources/nft-table.js';
import { type CheckResult, check } from './check.js';

/** Host checks of the guard (bridge mode with `firewall.load`). */
export async function guardHostChecks(config: HostConfig, facts: HostFacts): Promise<CheckResult[]> {
  const t = config.firewall.table;
  const br = config.bridge.name;
  return [
    await check(`bridge guard netdev ${t} on ${br}`, () => {
      const dev = guardDevice(t);
      return [dev === br, dev === null ? 'not loaded' : `ingress of ${dev}`];
    }),
    await check(`bridge table bridge ${t} loaded`, () => {
      const ok = facts.nftTables[`bridge ${t}`] === true;
      return [ok, ok ? 'loaded' : 'not loaded'];
    }),
    await check(`bridge guard holds the instances on ${br}`, () => {
      const have = readGuardPairs(t);
      if (have === null) return [false, 'not loaded'];
      const members = bridgeMembers(facts, config);
      const want = expectedPairs(members);
      const missing = members.filter((m) => !have.includes(`${m.mac} . ${m.address}`)).map((m) => m.name);
      const extra = have.filter((p) => !want.includes(p));
      if (missing.length === 0 && extra.length === 0) return [true, `${want.length} NICs`];
      return [
        false,
        [
          missing.length > 0
            ? `missing ${missing.join(', ')} (cut off until identity --guard-table syncs)`
            : '',
          extra.length > 0 ? `stale ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      ];
    }),
  ];
}

/** The MAC LXD gave the instance's NIC on the bridge. */
function nicMac(facts: HostFacts, config: HostConfig, name: string): string | null {
  return (
    bridgeMembers(
      { ...facts, lxd: { ...facts.lxd, instances: facts.lxd.instances.filter((i) => i.name === name) } },
      config,
    )[0]?.mac ?? null
  );
}

function hostNeighbour(bridge: string, address: string): string {
  try {
    return execFileSync('ip', ['-6', 'neigh', 'show', 'to', address, 'dev', bridge], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return '';
  }
}

/** A host IPv4 address that is not loopback (what ARP from the bridge would ask for), or null. */
function hostIpv4(): string | null {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

/** The guard's checks from inside bridge-mode instance `name`. */
export async function guardInstanceChecks(
  client: LxdClient,
  config: HostConfig,
  facts: HostFacts,
  name: string,
): Promise<CheckResult[]> {
  const nic = config.profile.nic;
  const exec = (cmd: string[]) => execInInstance(client, name, cmd);
  const out: CheckResult[] = [];
  const mac = nicMac(facts, config, name);
  out.push(
    await check(`${name}: link-local address is the EUI-64 of its MAC`, async () => {
      if (mac === null) return [false, `no NIC on ${config.bridge.name} with a MAC`];
      const want = eui64LinkLocal(mac);
      const r = await exec(['ip', '-6', '-o', 'addr', 'show', 'dev', nic, 'scope', 'link']);
      const have = [...r.stdout.matchAll(/inet6 (fe80:[0-9a-f:]+)\//g)].map((m) => m[1] as string);
      if (have.includes(want)) return [true, `${want} (${mac})`];
      return [
        false,
        `${name} has ${have.join(', ') || 'no link-local address'}, not ${want} (EUI-64 of ${mac}): the bridge guard drops everything it sends (stable-privacy addressing? set net.ipv6.conf.${nic}.addr_gen_mode=0 in the container)`,
      ];
    }),
  );
  const taken = new Set(bridgeMembers(facts, config).map((m) => m.address));
  let probe = '';
  do probe = `fe80::c7:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
  while (taken.has(probe));
  const proxy = bridgeAddress(config);
  out.push(
    await check(`${name}: a claimed address gets nowhere`, async () => {
      const steps: string[][] = [
        ['sysctl', '-w', `net.ipv6.conf.${nic}.accept_dad=0`],
        ['ip', '-6', 'addr', 'add', `${probe}/128`, 'dev', nic],
        ['ip', '-6', 'route', 'add', `${proxy}/128`, 'dev', nic, 'src', probe],
      ];
      try {
        for (const s of steps) {
          const r = await exec(s);
          if (r.code !== 0) return [false, `${s.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`];
        }
        const r = await exec(['timeout', '4', 'nc', '-w', '3', `${proxy}%${nic}`, String(config.proxy.port)]);
        const connected = r.code === 0 || r.code === 124 || r.code === 143;
        const learned = /lladdr/.test(hostNeighbour(config.bridge.name, probe));
        if (connected || learned)
          return [
            false,
            `from ${probe}: ${connected ? 'connected to the proxy' : 'no connection'}${learned ? ', and the host learned the address' : ''}`,
          ];
        return [true, `${probe}: no connection, the host did not learn it`];
      } finally {
        await exec(['ip', '-6', 'route', 'del', `${proxy}/128`, 'dev', nic, 'src', probe]).catch(
          () => undefined,
        );
        await exec(['ip', '-6', 'addr', 'del', `${probe}/128`, 'dev', nic]).catch(() => undefined);
        await exec(['sysctl', '-w', `net.ipv6.conf.${nic}.accept_dad=1`]).catch(() => undefined);
      }
    }),
  );
  const others = bridgeMembers(facts, config).filter(
    (m) => m.name !== name && facts.lxd.instances.some((i) => i.name === m.name && i.status === 'Running'),
  );
  out.push(
    await check(`${name}: no other instance on the bridge answers`, async () => {
      const other = others[0];
      if (other === undefined) return [true, `no other running instance on ${config.bridge.name} to try`];
      const r = await exec(['timeout', '5', 'ping6', '-c', '2', '-W', '1', '-I', nic, other.address]);
      return [
        r.code !== 0,
        r.code !== 0 ? `${other.name} (${other.address}): no answer` : `${other.name} answered`,
      ];
    }),
  );
  const v4 = hostIpv4();
  out.push(
    await check(`${name}: no IPv4, no ARP answer from the host`, async () => {
      const r4 = await exec(['ip', '-4', '-o', 'addr', 'show', 'dev', nic]);
      if (r4.stdout.trim() !== '') return [false, `IPv4 on ${nic}: ${r4.stdout.trim()}`];
      if (v4 === null) return [true, 'no IPv4 on the host to ask for'];
      const temp = '192.0.2.77/32';
      try {
        const add = await exec(['ip', '-4', 'addr', 'add', temp, 'dev', nic]);
        if (add.code !== 0) return [false, `ip -4 addr add ${temp}: ${add.stderr.trim()}`];
        const r = await exec(['timeout', '5', 'arping', '-f', '-c', '2', '-w', '3', '-I', nic, v4]);
        return [
          r.code !== 0,
          r.code !== 0 ? `ARP for ${v4}: no answer` : `ARP for ${v4} answered: ${r.stdout.trim()}`,
        ];
      } finally {
        await exec(['ip', '-4', 'addr', 'del', temp, 'dev', nic]).catch(() => undefined);
      }
    }),
  );
  return out;
}
