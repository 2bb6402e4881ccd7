/**
 * The bridge guard in the pure planner: its set elements follow the instances on the bridge (and only those),
 * `remove` keeps the tables while instances are attached, and the profile NIC gets port isolation where LXD has it.
 */
import { describe, expect, it } from 'vitest';
import { attachedInstances } from '../src/cli/commands/remove.js';
import { hostConfigSchema } from '../src/host-config/schema.js';
import type { LxdInstance } from '../src/resources/facts.js';
import { planHost, planRemoval } from '../src/resources/plan-host.js';
import { desiredProfile } from '../src/resources/profile.js';
import { hostFacts } from './helpers/facts.js';

const config = hostConfigSchema.parse({
  bridge: { name: 'br9' },
  profile: { name: 'prof' },
  firewall: { table: 't9', file: '/etc/cuttle/t9.nft' },
});

const inst = (name: string, network: string, mac: string, profiles = ['prof']): LxdInstance => ({
  name,
  status: 'Running',
  profiles,
  expanded_devices: { eth0: { type: 'nic', network, name: 'eth0' } },
  expanded_config: { 'volatile.eth0.hwaddr': mac },
});

const tables = { 'inet t9': true, 'netdev t9': true, 'bridge t9': true };

describe('the bridge guard in the plan', () => {
  it('puts the NICs on the bridge (not another bridge) into the sets, in one nft transaction', () => {
    const facts = hostFacts({
      nftTables: tables,
      guardPairs: { t9: [] },
      lxd: {
        instances: [inst('c1', 'br9', '00:16:3e:aa:00:01'), inst('other', 'lxdbr0', '00:16:3e:bb:00:01', [])],
      },
    });
    const guard = planHost(facts, config).plans.find((p) => p.id === 'nftables guard t9');
    expect(guard?.action).toBe('update');
    expect(guard?.changes).toEqual([
      { key: 'members', from: undefined, to: 'c1 00:16:3e:aa:00:01 . fe80::216:3eff:feaa:1' },
    ]);
    const script = guard?.steps?.[0];
    expect(script?.kind).toBe('nft');
    const text = script?.kind === 'nft' ? (script.args[0] ?? '') : '';
    expect(text.split('; ')).toEqual([
      'flush set netdev t9 pairs',
      'flush set netdev t9 targets',
      'flush set bridge t9 macs',
      'add element netdev t9 pairs { 00:16:3e:aa:00:01 . fe80::216:3eff:feaa:1 }',
      'add element netdev t9 targets { 00:16:3e:aa:00:01 . 0xfe8000000000000002163efffeaa0001 }',
      'add element bridge t9 macs { 00:16:3e:aa:00:01 }',
    ]);
    expect(text).not.toContain('bb:00:01');
  });

  it('is converged when the kernel holds exactly those pairs; a guard table gone is loaded again', () => {
    const instances = [inst('c1', 'br9', '00:16:3e:aa:00:01')];
    const pairs = { t9: ['00:16:3e:aa:00:01 . fe80::216:3eff:feaa:1'] };
    const ok = hostFacts({ nftTables: tables, guardPairs: pairs, lxd: { instances } });
    expect(planHost(ok, config).plans.find((p) => p.id === 'nftables guard t9')?.action).toBe('none');
    const write = planHost(ok, config).plans.find((p) => p.id === 'file /etc/cuttle/t9.nft')?.steps?.[0];
    if (write?.kind !== 'write-file') throw new Error('no write');
    const gone = hostFacts({
      nftTables: { ...tables, 'netdev t9': false },
      files: { '/etc/cuttle/t9.nft': { content: write.content, mode: 0o644 } },
      lxd: { instances },
    });
    expect(planHost(gone, config).plans.find((p) => p.id === 'nftables inet t9')?.action).toBe('none');
    const again = planHost(gone, config).plans.find((p) => p.id === 'nftables guard t9');
    expect(again?.steps?.[0]).toEqual({ kind: 'nft', args: ['-f', '/etc/cuttle/t9.nft'] });
  });

  it('remove: attached instances are named; keepTables leaves the tables and their file', () => {
    const instances = [inst('c1', 'br9', '00:16:3e:aa:00:01'), inst('c2', 'lxdbr0', '00:16:3e:aa:00:02')];
    expect(attachedInstances(config, instances)).toEqual([
      'c1 (bridge br9, profile prof)',
      'c2 (profile prof)',
    ]);
    const managed = { content: '# Managed by cuttle-provision\n', mode: 0o644 };
    const facts = hostFacts({ nftTables: tables, files: { '/etc/cuttle/t9.nft': managed } });
    const all = planRemoval(facts, config)
      .filter((p) => p.action !== 'none')
      .map((p) => p.id);
    expect(all).toEqual([
      'file /etc/cuttle/t9.nft',
      'nftables inet t9',
      'nftables netdev t9',
      'nftables bridge t9',
    ]);
    const kept = planRemoval(facts, config, { keepTables: true }).filter((p) => p.action !== 'none');
    expect(kept).toEqual([]);
  });

  it('the profile NIC gets security.port_isolation where LXD has it, unless containers may talk', () => {
    const f = { incus: false, cloudInitKeys: true, portIsolation: true };
    expect(desiredProfile(config, f).devices.eth0?.['security.port_isolation']).toBe('true');
    const open = hostConfigSchema.parse({ ...config, firewall: { allow_between_containers: true } });
    expect(desiredProfile(open, f).devices.eth0?.['security.port_isolation']).toBeUndefined();
    expect(desiredProfile(config, { ...f, portIsolation: false }).devices.eth0).not.toHaveProperty(
      'security.port_isolation',
    );
  });
});
