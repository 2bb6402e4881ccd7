/**
 * The storage pool. Created when missing; never deleted or replaced: a different driver or source says "replace
 * required" and apply stops. After creating a zfs pool on a block device LXD rewrites `source` (to the zpool name),
 * so the declared source is compared with `volatile.initial_source` too. LXD 5.0.2 sends no ETag for pools.
 */
import type { HostConfig } from '../host-config/schema.js';
import { type HostFacts, lxdPath } from './facts.js';
import { diffKeys, type ResourcePlan } from './types.js';

/** Explains LXD's refusal to create a pool (the usual one here: no zfs kernel module). */
function explainCreateFailure(config: HostConfig, zfsLoaded: boolean): (lxdMessage: string) => string {
  const p = config.pool;
  const hint =
    p.driver === 'zfs' && !zfsLoaded
      ? ' The zfs kernel module is not loaded on this host (install zfs support and `modprobe zfs`, or use driver dir/btrfs).'
      : '';
  return (lxdMessage) => `pool ${p.name}: LXD refused to create a ${p.driver} pool: ${lxdMessage}.${hint}`;
}

/** Plans the pool declared in `config`. */
export function planStoragePool(facts: HostFacts, config: HostConfig): ResourcePlan {
  const p = config.pool;
  const id = `pool ${p.name}`;
  const desired: Record<string, string> = { ...p.config };
  if (p.source !== undefined && p.source !== '') desired.source = p.source;
  const m = facts.lxd.pools[p.name] ?? null;
  const zfsLoaded = facts.paths['/sys/module/zfs'] === true;

  if (m === null) {
    const changes = [{ key: 'driver', from: undefined, to: p.driver }, ...diffKeys({}, desired)];
    const source = p.source ?? '';
    const needsLv = p.driver === 'zfs' && source.startsWith('/dev/') && facts.paths[source] !== true;
    if (needsLv && !p.lvm.create) {
      return {
        id,
        action: 'blocked',
        changes,
        note: `source ${source} does not exist: create it, or set pool.lvm.create: true to run lvcreate`,
      };
    }
    const lv = p.lvm;
    return {
      id,
      action: 'create',
      changes,
      ...(p.driver === 'zfs' && !zfsLoaded
        ? { note: 'warning: the zfs kernel module is not loaded here; LXD will refuse the pool' }
        : {}),
      steps: [
        ...(needsLv
          ? [
              {
                kind: 'run' as const,
                argv: ['lvcreate', '-L', lv.size, '-n', lv.name, lv.volume_group] as const,
              },
            ]
          : []),
        {
          kind: 'lxd-create',
          path: '/1.0/storage-pools',
          body: {
            name: p.name,
            driver: p.driver,
            config: desired,
            description: 'managed by cuttle-provision',
          },
          explain: explainCreateFailure(config, zfsLoaded),
        },
      ],
    };
  }

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
    steps: [
      {
        kind: 'lxd-update',
        path: lxdPath.pool(p.name),
        build: (cur) => ({
          config: { ...(cur.config as Record<string, string>), ...rest },
          description: cur.description,
        }),
      },
    ],
  };
}
