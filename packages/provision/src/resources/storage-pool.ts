/**
 * The storage pool. Created when missing; never deleted or replaced: a different driver or source says "replace
 * required" and apply stops. After creating a zfs pool on a block device LXD rewrites `source` (to the zpool name),
 * so the declared source is compared with `volatile.initial_source` too. LXD 5.0.2 sends no ETag for pools.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ApplyError, LxdApiError } from '../errors.js';
import type { HostConfig } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { diffKeys, type ResourcePlan } from './types.js';

interface LxdPool {
  name: string;
  driver: string;
  config: Record<string, string>;
  description: string;
}

function poolPath(name: string): string {
  return `/1.0/storage-pools/${encodeURIComponent(name)}`;
}

/** Explains LXD's refusal to create a pool (the usual one here: no zfs kernel module). */
function explainCreateFailure(config: HostConfig, err: unknown): ApplyError {
  const p = config.pool;
  const lxdMessage = err instanceof Error ? err.message : String(err);
  let hint = '';
  if (p.driver === 'zfs' && !existsSync('/sys/module/zfs'))
    hint =
      ' The zfs kernel module is not loaded on this host (install zfs support and `modprobe zfs`, or use driver dir/btrfs).';
  return new ApplyError(`pool ${p.name}: LXD refused to create a ${p.driver} pool: ${lxdMessage}.${hint}`, {
    cause: err,
  });
}

/** Plans the pool declared in `config`. */
export async function planStoragePool(client: LxdClient, config: HostConfig): Promise<ResourcePlan> {
  const p = config.pool;
  const id = `pool ${p.name}`;
  const desired: Record<string, string> = { ...p.config };
  if (p.source !== undefined && p.source !== '') desired.source = p.source;
  const current = await client.getOrNull<LxdPool>(poolPath(p.name));

  if (current === null) {
    const changes = [{ key: 'driver', from: undefined, to: p.driver }, ...diffKeys({}, desired)];
    const source = p.source ?? '';
    const needsLv = p.driver === 'zfs' && source.startsWith('/dev/') && !existsSync(source);
    if (needsLv && !p.lvm.create) {
      return {
        id,
        action: 'blocked',
        changes,
        note: `source ${source} does not exist: create it, or set pool.lvm.create: true to run lvcreate`,
      };
    }
    const zfsMissing = p.driver === 'zfs' && !existsSync('/sys/module/zfs');
    return {
      id,
      action: 'create',
      changes,
      ...(zfsMissing
        ? { note: 'warning: the zfs kernel module is not loaded here; LXD will refuse the pool' }
        : {}),
      apply: async () => {
        if (needsLv) {
          const lv = p.lvm;
          execFileSync('lvcreate', ['-L', lv.size, '-n', lv.name, lv.volume_group], { stdio: 'inherit' });
        }
        try {
          await client.request('POST', '/1.0/storage-pools', {
            name: p.name,
            driver: p.driver,
            config: desired,
            description: 'managed by cuttle-provision',
          });
        } catch (err) {
          if (err instanceof LxdApiError) throw explainCreateFailure(config, err);
          throw err;
        }
      },
    };
  }

  const m = current.metadata;
  if (m.driver !== p.driver) {
    return {
      id,
      action: 'replace-required',
      changes: [{ key: 'driver', from: m.driver, to: p.driver }],
      note: 'replace required: the pool exists with another driver; cuttle-provision never deletes a pool',
    };
  }
  const { source, ...rest } = desired;
  if (source !== undefined && m.config.source !== source && m.config['volatile.initial_source'] !== source) {
    return {
      id,
      action: 'replace-required',
      changes: [{ key: 'source', from: m.config.source, to: source }],
      note: 'replace required: the pool exists on another source; cuttle-provision never deletes a pool',
    };
  }
  const changes = diffKeys(m.config, rest);
  if (changes.length === 0) return { id, action: 'none', changes };
  return {
    id,
    action: 'update',
    changes,
    apply: () =>
      client.update<LxdPool>(poolPath(p.name), (cur) => ({
        config: { ...cur.config, ...rest },
        description: cur.description,
      })),
  };
}
