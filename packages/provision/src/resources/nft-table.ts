/**
 * The nftables table in the running kernel: loaded from its file (atomically replaced), deleted by `remove`.
 * Whether the loaded rules equal the file is not compared (nft's listing differs from its input): a table that is
 * loaded and whose file did not change is taken as converged.
 */
import { join } from 'node:path';
import type { HostConfig } from '../host-config/schema.js';
import type { HostFacts } from './facts.js';
import type { ResourcePlan } from './types.js';

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
