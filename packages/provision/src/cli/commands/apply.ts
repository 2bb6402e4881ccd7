/** `cuttle-provision apply`: converge, re-read, check that nothing is left to do. */
import { ApplyError } from '../../errors.js';
import { applyPlans, systemEffects } from '../../resources/apply.js';
import { planHost } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatPlan } from '../format-plan.js';

export const APPLY_HELP = `usage: cuttle-provision apply --config host.yaml [--root DIR] [--socket PATH]

Converges the host to host.yaml, then plans again and fails if anything is still pending. Keys it does not manage
are kept. A pool is never deleted or replaced: "replace required" stops apply before it changes anything.

  -c, --config FILE   host.yaml
      --root DIR      prefix for the files (default /)
      --socket PATH   LXD's unix socket (default: discovered)

exit: 0 converged, 2 usage or config error, 3 runtime failure, replace required or blocked
`;

export async function applyCommand(ctx: CommandContext): Promise<number> {
  const { plans } = planHost(await ctx.facts(), ctx.config);
  const done = await applyPlans(plans, systemEffects(ctx.client()));
  for (const p of done) process.stdout.write(`${p.action === 'create' ? 'created' : 'updated'} ${p.id}\n`);
  const again = planHost(await ctx.facts(), ctx.config);
  const left = again.plans.filter((p) => p.action !== 'none');
  if (left.length > 0) throw new ApplyError(`applied, but the host did not converge:\n${formatPlan(left)}`);
  process.stdout.write(done.length === 0 ? 'No changes.\n' : 'Converged.\n');
  return EXIT_OK;
}
