/**
 * facts + host.yaml -> the plan of every resource, in apply order: pool, bridge, profiles (LXD), then the owned
 * files, the firewall table and the systemd unit's activation. A pure function: the facts are read before
 * (facts.ts: gatherFacts) and the plan is carried out after (apply.ts: applyPlans), so every rule here is a table
 * test. `mode: socket` has no bridge and no table: its containers have no NIC, and reach the proxy only through
 * the LXD proxy device.
 */
import { join } from 'node:path';
import { PACKAGE_IDENTITY_UNIT_NAME } from '../host-config/package-paths.js';
import { type HostConfig, managedProfiles, usesBridge } from '../host-config/schema.js';
import { unitDropInPath } from '../render/systemd-unit.js';
import { needsWatcher } from '../render/watcher-args.js';
import { planBridge } from './bridge.js';
import type { HostFacts } from './facts.js';
import { GUARD_FAMILIES } from './facts.js';
import { firewallTable, planGuard, planNftTable, planNftTableRemoval } from './nft-table.js';
import { ownedFiles, planFile, planFileRemoval } from './owned-files.js';
import { planProfile } from './profile.js';
import { planStoragePool } from './storage-pool.js';
import type { ResourcePlan } from './types.js';

/** The plan: every resource in apply order, and what was left out on purpose (the APT pin, mostly). */
export interface HostPlan {
  readonly plans: ResourcePlan[];
  readonly notes: string[];
  /** Instances on no managed profile: they keep whatever network they had. */
  readonly unmanaged: string[];
}

/** Running instances with a NIC on network `name`. */
export function runningOnNetwork(facts: HostFacts, name: string): string[] {
  return facts.lxd.instances
    .filter(
      (i) =>
        i.status === 'Running' &&
        Object.values(i.expanded_devices).some((d) => d.type === 'nic' && d.network === name),
    )
    .map((i) => i.name);
}

/** Running instances with profile `name`. */
export function runningWithProfile(facts: HostFacts, name: string): string[] {
  return facts.lxd.instances
    .filter((i) => i.status === 'Running' && i.profiles.includes(name))
    .map((i) => i.name);
}

/** A bridge or profile change that running instances would feel: named, and needing --force. */
function guarded(plan: ResourcePlan, users: string[]): ResourcePlan {
  if (users.length === 0 || (plan.action !== 'update' && plan.action !== 'replace-required')) return plan;
  const why = `in use by running instance(s) ${users.join(', ')}: apply changes it only with --force`;
  return { ...plan, inUseBy: users, note: plan.note === undefined ? why : `${plan.note}; ${why}` };
}

/** The plans apply must not carry out without --force. */
export function inUse(plans: readonly ResourcePlan[]): ResourcePlan[] {
  return plans.filter((p) => (p.inUseBy?.length ?? 0) > 0);
}

/** Where cuttle-provision wrote the whole unit before the package shipped it. */
export function legacyUnitPath(config: HostConfig): string {
  return join(config.unit.dir, config.unit.name);
}

/**
 * The unit's Node and CLI (`proxy.node`, `proxy.cli`): blocked when either is missing, so plan fails (exit 3) and
 * apply changes nothing rather than leave a unit that cannot start.
 */
export function planRuntime(facts: HostFacts, config: HostConfig): ResourcePlan {
  const id = 'unit runtime';
  const missing = (['node', 'cli'] as const).filter((k) => facts.paths[config.proxy[k]] !== true);
  if (missing.length === 0) return { id, action: 'none', changes: [] };
  const what = { node: 'the Node runtime', cli: 'the cuttle CLI' };
  return {
    id,
    action: 'blocked',
    changes: missing.map((k) => ({ key: `proxy.${k}`, from: undefined, to: config.proxy[k] })),
    note: missing
      .map(
        (k) =>
          `proxy.${k}: ${what[k]} ${config.proxy[k]} does not exist (install the cuttle package or set proxy.${k})`,
      )
      .join('; '),
  };
}

/** Plans every resource. Pure. */
export function planHost(facts: HostFacts, config: HostConfig): HostPlan {
  const plans: ResourcePlan[] = [planRuntime(facts, config), planStoragePool(facts, config)];
  if (usesBridge(config))
    plans.push(guarded(planBridge(facts, config), runningOnNetwork(facts, config.bridge.name)));
  for (const p of managedProfiles(config))
    plans.push(guarded(planProfile(facts, config, p), runningWithProfile(facts, p.name)));
  const { files, skipped } = ownedFiles(config, facts.install);
  const filePlans = files.map((f) => planFile(facts, f));
  plans.push(...filePlans);
  // Older cuttle-provision wrote the whole unit there; it would hide the packaged one (deleted only if ours).
  const legacy = planFileRemoval(facts, legacyUnitPath(config));
  if (legacy.action !== 'none') plans.push(legacy);
  const changed = (path: string): boolean =>
    filePlans.some((p) => p.id === `file ${path}` && p.action !== 'none');
  const fw = firewallTable(config);
  if (fw !== null) {
    const table = planNftTable(facts, fw.family, fw.table, fw.file, changed(fw.file));
    plans.push(table);
    const guard = planGuard(facts, config, table.action !== 'none');
    // Nothing to do is left out: on a host without instances the file alone is the whole guard.
    if (guard !== null && (guard.action !== 'none' || facts.lxd.instances.length > 0)) plans.push(guard);
  }
  const unit = config.unit.name;
  // The watcher reads host.yaml at start: (re)started whenever a file generated from it changed. Before the proxy.
  const watcher = PACKAGE_IDENTITY_UNIT_NAME;
  if (facts.systemd && needsWatcher(config) && filePlans.some((p) => p.action !== 'none')) {
    plans.push({
      id: `unit ${watcher}`,
      action: 'update',
      changes: [{ key: 'state', from: undefined, to: 'enabled, (re)started' }],
      steps: [
        { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
        { kind: 'run', argv: ['systemctl', 'enable', watcher] },
        { kind: 'run', argv: ['systemctl', 'restart', watcher] },
      ],
    });
  }
  if (facts.systemd && (legacy.action !== 'none' || changed(unitDropInPath(config)))) {
    plans.push({
      id: `unit ${unit}`,
      action: 'update',
      changes: [{ key: 'state', from: undefined, to: 'daemon-reload, enabled, (re)started' }],
      steps: [
        { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
        { kind: 'run', argv: ['systemctl', 'enable', unit] },
        { kind: 'run', argv: ['systemctl', 'reload-or-restart', unit] },
      ],
    });
  }
  const managed = managedProfiles(config).map((p) => p.name);
  const unmanaged = facts.lxd.instances
    .filter((i) => !i.profiles.some((p) => managed.includes(p)))
    .map((i) => i.name);
  return { plans, notes: skipped, unmanaged };
}

/**
 * Plans `remove`: the owned files, the tables and the unit; never a pool, bridge or profile. Pure. `keepTables`:
 * the nftables file and the loaded tables stay (instances are still on the bridge, which still exists).
 */
export function planRemoval(
  facts: HostFacts,
  config: HostConfig,
  options: { keepTables?: boolean } = {},
): ResourcePlan[] {
  const dropIn = unitDropInPath(config);
  const plans: ResourcePlan[] = [];
  if (facts.systemd && facts.files[dropIn] != null) {
    plans.push({
      id: `unit ${config.unit.name}`,
      action: 'delete',
      changes: [{ key: 'state', from: 'installed', to: 'stopped, disabled' }],
      steps: [
        {
          kind: 'run',
          argv: [
            'systemctl',
            'disable',
            '--now',
            config.unit.name,
            ...(needsWatcher(config) ? [PACKAGE_IDENTITY_UNIT_NAME] : []),
          ],
        },
      ],
    });
  }
  const keep = options.keepTables === true;
  for (const p of [
    config.proxy.config_file,
    ...(keep ? [] : [config.firewall.file]),
    dropIn,
    legacyUnitPath(config),
    config.apt_pin.file,
  ])
    plans.push(planFileRemoval(facts, p));
  if (!keep)
    for (const family of ['inet', ...GUARD_FAMILIES])
      plans.push(planNftTableRemoval(facts, family, config.firewall.table));
  return plans;
}

/** Actions apply refuses to take on. */
export function stoppers(plans: readonly ResourcePlan[]): ResourcePlan[] {
  return plans.filter((p) => p.action === 'replace-required' || p.action === 'blocked');
}
