/** `cuttle-provision plan`: what apply would change, per resource. Exit 0 nothing, 1 changes pending. */
import { planHost, stoppers } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_CHANGES, EXIT_OK, EXIT_RUNTIME } from '../exit-codes.js';
import { formatPlan, planJson } from '../format-plan.js';

export const PLAN_HELP = `usage: cuttle-provision plan --config host.yaml [--root DIR] [--json] [--socket PATH]

Shows, per resource (pool, bridge, profile, files, firewall table), what apply would change.

  -c, --config FILE   host.yaml
      --root DIR      prefix for the files (default /)
      --json          machine-readable plan
      --socket PATH   LXD's unix socket (default: discovered)

exit: 0 no changes, 1 changes pending, 2 usage or config error, 3 runtime failure or a replace/blocked resource
`;

export async function planCommand(ctx: CommandContext): Promise<number> {
  const { plans, notes } = planHost(await ctx.facts(), ctx.config);
  process.stdout.write(ctx.json ? planJson(plans, notes) : formatPlan(plans, notes));
  if (stoppers(plans).length > 0) return EXIT_RUNTIME;
  return plans.some((p) => p.action !== 'none') ? EXIT_CHANGES : EXIT_OK;
}
