/**
 * The nftables tables in the running kernel: the inet table loaded from its file (atomically replaced), the bridge
 * guard's netdev and bridge tables from the same file with their set elements (the NICs on the bridge), all
 * deleted by `remove`. Whether the loaded rules equal the file is not compared (nft's listing differs from its
 * input): a table that is loaded and whose file did not change is taken as converged; the guard's elements are
 * compared with the instances.
 */
import { join } from 'node:path';
import { expectedPairs, type GuardMember, guardMembers, renderGuardElements } from '../guard/guard-sets.js';
import type { HostConfig } from '../host-config/schema.js';
import { identityRecords, type NicRecord } from '../identity/collect.js';
import { GUARD_FAMILIES, type HostFacts } from './facts.js';
import type { KeyChange, ResourcePlan, Step } from './types.js';

/** Plans loading table `family name` from host file `file`; `fileChanges` is true when this run rewrites it. */
export function planNftTable(
  facts: HostFacts,
  family: string,
  table: string,
  file: string,
  fileChanges: boolean,
): ResourcePlan {
  const id = `nftables ${family} ${table}`;
  const loaded = facts.nftTables[`${family} ${table}`] === true;
  if (loaded && !fileChanges) return { id, action: 'none', changes: [] };
  const full = join(facts.root, file);
  return {
    id,
    action: loaded ? 'update' : 'create',
    changes: [{ key: 'loaded', from: loaded ? 'yes (older file)' : undefined, to: `nft -f ${full}` }],
    steps: [{ kind: 'nft', args: ['-f', full] }],
  };
}

/** Plans deleting table `family name`. */
export function planNftTableRemoval(facts: HostFacts, family: string, table: string): ResourcePlan {
  const id = `nftables ${family} ${table}`;
  if (facts.nftTables[`${family} ${table}`] !== true) return { id, action: 'none', changes: [] };
  return {
    id,
    action: 'delete',
    changes: [{ key: 'loaded', from: 'yes', to: undefined }],
    steps: [{ kind: 'nft', args: ['delete', 'table', family, table] }],
  };
}

/** The inet table of host.yaml's `firewall`, when bridge mode loads it. */
export function firewallTable(config: HostConfig): { family: string; table: string; file: string } | null {
  if (config.mode !== 'bridge' || !config.firewall.load) return null;
  return { family: 'inet', table: config.firewall.table, file: config.firewall.file };
}

/** The NICs of the instances in `facts` on the managed bridge: what the bridge guard lets through. */
export function bridgeMembers(facts: HostFacts, config: HostConfig): GuardMember[] {
  const records = identityRecords(facts.lxd.instances).filter((r): r is NicRecord => 'mac' in r);
  return guardMembers(records, config.bridge.name);
}

/**
 * Plans the bridge guard's tables (netdev and bridge, from the same file as the inet table) and their set
 * elements. `fileLoads`: the inet table's plan loads the file in this run (which defines both guard tables; their
 * elements survive a reload). Elements are written in one nft transaction (flush and add).
 */
export function planGuard(facts: HostFacts, config: HostConfig, fileLoads: boolean): ResourcePlan | null {
  if (config.mode !== 'bridge' || !config.firewall.load) return null;
  const t = config.firewall.table;
  const id = `nftables guard ${t}`;
  const loaded = GUARD_FAMILIES.every((f) => facts.nftTables[`${f} ${t}`] === true);
  const members = bridgeMembers(facts, config);
  const want = expectedPairs(members);
  const have = loaded ? (facts.guardPairs?.[t] ?? []) : [];
  const steps: Step[] = [];
  const changes: KeyChange[] = [];
  if (!loaded && !fileLoads) {
    const full = join(facts.root, config.firewall.file);
    steps.push({ kind: 'nft', args: ['-f', full] });
    changes.push({ key: 'tables netdev, bridge', from: undefined, to: `nft -f ${full}` });
  }
  if (have.join('\n') !== want.join('\n')) {
    steps.push({ kind: 'nft', args: [renderGuardElements(t, members).trim().split('\n').join('; ')] });
    changes.push({
      key: 'members',
      from: have.length === 0 ? undefined : have.join(', '),
      to: members.length === 0 ? 'none' : members.map((m) => `${m.name} ${m.mac} . ${m.address}`).join(', '),
    });
  }
  if (steps.length === 0) return { id, action: 'none', changes: [] };
  return { id, action: loaded ? 'update' : 'create', changes, steps };
}
