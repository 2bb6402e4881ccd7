/**
 * The nftables table in the running kernel: loaded from its file (atomically replaced), deleted by `remove`.
 * Whether the loaded rules equal the file is not compared (nft's listing differs from its input): a table that is
 * loaded and whose file did not change is taken as converged.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ApplyError } from '../errors.js';
import type { HostConfig } from '../host-config/schema.js';
import type { ResourcePlan } from './types.js';

function nft(args: string[]): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync('nft', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message: string };
    return {
      ok: false,
      out: e.code === 'ENOENT' ? 'nft is not installed (package nftables)' : (e.stderr ?? e.message),
    };
  }
}

/** True when table `inet NAME` is loaded. */
export function isTableLoaded(table: string): boolean {
  return nft(['list', 'table', 'inet', table]).ok;
}

/** Plans loading the table; `fileChanges` is true when this run rewrites its file. */
export function planNftTable(root: string, config: HostConfig, fileChanges: boolean): ResourcePlan | null {
  if (!config.firewall.load) return null;
  const t = config.firewall.table;
  const id = `nftables inet ${t}`;
  const loaded = isTableLoaded(t);
  if (loaded && !fileChanges) return { id, action: 'none', changes: [] };
  const file = join(root, config.firewall.file);
  return {
    id,
    action: loaded ? 'update' : 'create',
    changes: [{ key: 'loaded', from: loaded ? 'yes (older file)' : undefined, to: `nft -f ${file}` }],
    apply: async () => {
      const r = nft(['-f', file]);
      if (!r.ok) throw new ApplyError(`nftables inet ${t}: loading ${file} failed: ${r.out.trim()}`);
    },
  };
}

/** Plans deleting the table. */
export function planNftTableRemoval(config: HostConfig): ResourcePlan {
  const t = config.firewall.table;
  const id = `nftables inet ${t}`;
  if (!isTableLoaded(t)) return { id, action: 'none', changes: [] };
  return {
    id,
    action: 'delete',
    changes: [{ key: 'loaded', from: 'yes', to: undefined }],
    apply: async () => {
      const r = nft(['delete', 'table', 'inet', t]);
      if (!r.ok) throw new ApplyError(`nftables inet ${t}: delete failed: ${r.out.trim()}`);
    },
  };
}
