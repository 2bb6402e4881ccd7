/**
 * host.yaml -> the plan of every resource, in apply order: pool, bridge, profiles (LXD), then the owned files, the
 * firewall table and the systemd unit's activation. `mode: socket` has no bridge and no table: its containers have
 * no NIC, and reach the proxy only through the LXD proxy device. `applyPlans` converges, re-plans and checks nothing is left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApplyError } from '../errors.js';
import { type HostConfig, managedProfiles, usesBridge } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { unitDropInPath } from '../render/systemd-unit.js';
import { planBridge } from './bridge.js';
import { detectHostFacts } from './host-facts.js';
import { planNftTable, planNftTableRemoval } from './nft-table.js';
import { ownedFiles, planFile, planFileRemoval } from './owned-files.js';
import { planProfile } from './profile.js';
import { planStoragePool } from './storage-pool.js';
import type { ResourcePlan } from './types.js';

export interface PlanOptions {
  /** Root prefix for files (default `/`). */
  readonly root?: string;
}

/** True when systemd is PID 1 and the files go to the real root: only then are units reloaded/enabled. */
function systemdActive(root: string): boolean {
  return root === '/' && existsSync('/run/systemd/system');
}

function systemctl(args: string[]): void {
  execFileSync('systemctl', args, { stdio: 'inherit' });
}

/** Where cuttle-provision wrote the whole unit before the package shipped it. */
function legacyUnitPath(config: HostConfig): string {
  return join(config.unit.dir, config.unit.name);
}

/** Plans every resource. */
export async function planHost(
  client: LxdClient,
  config: HostConfig,
  options: PlanOptions = {},
): Promise<{ plans: ResourcePlan[]; notes: string[] }> {
  const root = options.root ?? '/';
  const plans: ResourcePlan[] = [await planStoragePool(client, config)];
  if (usesBridge(config)) plans.push(await planBridge(client, config));
  for (const p of managedProfiles(config)) plans.push(await planProfile(client, config, p));
  const { files, skipped } = ownedFiles(config, detectHostFacts(client.socketPath));
  const filePlans = files.map((f) => planFile(root, f));
  plans.push(...filePlans);
  // Older cuttle-provision wrote the whole unit there; it would hide the packaged one (deleted only if ours).
  const legacy = planFileRemoval(root, legacyUnitPath(config));
  if (legacy.action !== 'none') plans.push(legacy);
  const nftFileChanges = filePlans.some(
    (p) => p.id === `file ${config.firewall.file}` && p.action !== 'none',
  );
  const table = usesBridge(config) ? planNftTable(root, config, nftFileChanges) : null;
  if (table !== null) plans.push(table);
  const unitChanges =
    legacy.action !== 'none' ||
    filePlans.some((p) => p.id === `file ${unitDropInPath(config)}` && p.action !== 'none');
  if (systemdActive(root) && unitChanges) {
    plans.push({
      id: `unit ${config.unit.name}`,
      action: 'update',
      changes: [{ key: 'state', from: undefined, to: 'daemon-reload, enabled, (re)started' }],
      apply: async () => {
        systemctl(['daemon-reload']);
        systemctl(['enable', config.unit.name]);
        systemctl(['reload-or-restart', config.unit.name]);
      },
    });
  }
  return { plans, notes: skipped };
}

/** Plans `remove`: the owned files, the table and the unit; never a pool, bridge or profile. */
export function planRemoval(config: HostConfig, options: PlanOptions = {}): ResourcePlan[] {
  const root = options.root ?? '/';
  const dropIn = unitDropInPath(config);
  const plans: ResourcePlan[] = [];
  if (systemdActive(root) && existsSync(dropIn)) {
    plans.push({
      id: `unit ${config.unit.name}`,
      action: 'delete',
      changes: [{ key: 'state', from: 'installed', to: 'stopped, disabled' }],
      apply: async () => systemctl(['disable', '--now', config.unit.name]),
    });
  }
  for (const p of [
    config.proxy.config_file,
    config.firewall.file,
    dropIn,
    legacyUnitPath(config),
    config.apt_pin.file,
  ])
    plans.push(planFileRemoval(root, p));
  plans.push(planNftTableRemoval(config));
  return plans;
}

/** Actions apply refuses to take on. */
export function stoppers(plans: readonly ResourcePlan[]): ResourcePlan[] {
  return plans.filter((p) => p.action === 'replace-required' || p.action === 'blocked');
}

/**
 * Runs every plan's apply in order. Refuses to start when a plan needs a replacement or is blocked (nothing is
 * changed then).
 */
export async function applyPlans(plans: readonly ResourcePlan[]): Promise<ResourcePlan[]> {
  const stop = stoppers(plans);
  if (stop.length > 0)
    throw new ApplyError(`nothing changed: ${stop.map((p) => `${p.id}: ${p.note ?? p.action}`).join('; ')}`);
  const done: ResourcePlan[] = [];
  for (const p of plans) {
    if (p.apply === undefined || p.action === 'none') continue;
    try {
      await p.apply();
    } catch (err) {
      if (err instanceof ApplyError) throw err;
      throw new ApplyError(`${p.id}: ${(err as Error).message}`, { cause: err });
    }
    done.push(p);
  }
  return done;
}
