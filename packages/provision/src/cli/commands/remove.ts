/**
 * `cuttle-provision remove`: take away the files, the firewall tables and the unit it owns; never a pool. With
 * instances still on the bridge or a managed profile it refuses (exit 1, naming them) unless `--force`, and even
 * then it keeps the nftables tables and their file while such an instance is attached and the bridge exists: a
 * container on the bridge without them reaches whatever listens on the host's link-local address.
 */
import { type HostConfig, managedProfiles, usesBridge } from '../../host-config/schema.js';
import { applyPlans, systemEffects } from '../../resources/apply.js';
import type { LxdInstance } from '../../resources/facts.js';
import { planRemoval } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_OK } from '../exit-codes.js';

export const REMOVE_HELP = `usage: cuttle-provision remove --config host.yaml [--root DIR] [--socket PATH] [--force]

Removes what cuttle-provision owns: the proxy config, the nftables tables (inet, and the bridge guard's netdev
and bridge tables) and their file, the systemd unit's drop-in, the APT pin (files are removed only while they
still carry the "Managed by cuttle-provision" header). The pool, the bridge and the profile stay: containers use
them.

Refuses (exit 1, naming them) while instances are still attached to the bridge or to a managed profile. With
--force it removes the rest, but keeps the tables and their file while an attached instance and the bridge exist
(run remove again once they are gone).

  -c, --config FILE   host.yaml
      --root DIR      remove the files under DIR instead of /. Not covered by it: the nftables tables (deleted
                      from this kernel), the LXD instances it checks (the daemon's) and systemd (never touched
                      with --root)
      --socket PATH   LXD's unix socket (default: discovered)
      --force         remove despite attached instances (the tables stay while they and the bridge do)

exit: 0 removed (or nothing to remove), 1 instances still attached (without --force), 2 usage or config error,
3 runtime failure
`;

/** Each attached instance with why: a NIC on the bridge, a managed profile. Sorted. */
export function attachedInstances(config: HostConfig, instances: readonly LxdInstance[]): string[] {
  const profiles = new Set(managedProfiles(config).map((p) => p.name));
  const out: string[] = [];
  for (const inst of instances) {
    const why: string[] = [];
    if (usesBridge(config)) {
      const onBridge = Object.values(inst.expanded_devices).some(
        (d) =>
          d.type === 'nic' &&
          (d.network === config.bridge.name || (d.nictype === 'bridged' && d.parent === config.bridge.name)),
      );
      if (onBridge) why.push(`bridge ${config.bridge.name}`);
    }
    for (const p of inst.profiles) if (profiles.has(p)) why.push(`profile ${p}`);
    if (why.length > 0) out.push(`${inst.name} (${why.join(', ')})`);
  }
  return out.sort();
}

export async function removeCommand(ctx: CommandContext): Promise<number> {
  const facts = await ctx.facts();
  const attached = attachedInstances(ctx.config, facts.lxd.instances);
  if (attached.length > 0 && !ctx.force) {
    process.stderr.write(
      `cuttle-provision: not removing: instances still attached: ${attached.join(', ')}\n` +
        '  delete them or move them to another profile and network, or use --force\n',
    );
    return 1;
  }
  const bridgeExists = usesBridge(ctx.config) && facts.lxd.networks[ctx.config.bridge.name] != null;
  const keepTables = bridgeExists && attached.length > 0;
  const done = await applyPlans(planRemoval(facts, ctx.config, { keepTables }), systemEffects(ctx.client()));
  for (const p of done) process.stdout.write(`removed ${p.id}\n`);
  if (done.length === 0) process.stdout.write('Nothing to remove.\n');
  if (keepTables)
    process.stdout.write(
      `kept the nftables tables ${ctx.config.firewall.table} and ${ctx.config.firewall.file}: instances still attached: ${attached.join(', ')}, and bridge ${ctx.config.bridge.name} exists; run remove again once they are gone\n`,
    );
  return EXIT_OK;
}
