/** `cuttle-provision plan`: what apply would change, per resource. Exit 0 nothing, 1 changes pending. */
import { planHost, stoppers } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_CHANGES, EXIT_OK, EXIT_RUNTIME } from '../exit-codes.js';
import { formatPlan, planJson } from '../format-plan.js';

export const PLAN_HELP = `usage: cuttle-provision plan --config host.yaml [--root DIR] [--json] [--socket PATH]

Shows, per resource (the unit's Node and CLI, pool, bridge, profile, files, firewall table), what apply would
change; a bridge or profile that running instances use is named with them (apply needs --force for it). Lists
the instances that are on no managed profile (they keep whatever network they had).

  -c, --config FILE   host.yaml
      --root DIR      compare the files under DIR instead of / (proxy.node and proxy.cli count under DIR or
                      here). Not covered by it: the LXD objects (the daemon's own) and the nftables table (this
                      kernel's); no unit activation is planned with --root
      --json          machine-readable plan
      --socket PATH   LXD's unix socket (default: discovered)

exit: 0 no changes, 1 changes pending, 2 usage or config error, 3 runtime failure or a replace/blocked resource
`;

export async function planCommand(ctx: CommandContext): Promise<number> {
  const { plans, notes, unmanaged } = planHost(await ctx.facts(), ctx.config);
  process.stdout.write(ctx.json ? planJson(plans, notes, unmanaged) : formatPlan(plans, notes, unmanaged));
  if (stoppers(plans).length > 0) return EXIT_RUNTIME;
  return plans.some((p) => p.action !== 'none') ? EXIT_CHANGES : EXIT_OK;
}
