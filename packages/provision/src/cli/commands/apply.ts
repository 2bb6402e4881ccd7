/** `cuttle-provision apply`: converge, re-read, check that nothing is left to do. */
import { ApplyError } from '../../errors.js';
import { manualStartCommands } from '../../render/manual-start.js';
import { applyPlans, systemEffects } from '../../resources/apply.js';
import { inUse, planHost } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_CHANGES, EXIT_OK } from '../exit-codes.js';
import { formatPlan } from '../format-plan.js';

export const APPLY_HELP = `usage: cuttle-provision apply --config host.yaml [--root DIR] [--socket PATH] [--force]

Converges the host to host.yaml, then plans again and fails if anything is still pending. Keys it does not manage
are kept. A pool is never deleted or replaced: "replace required" stops apply before it changes anything. A bridge
or profile that running instances use is changed only with --force (apply names them and changes nothing).
Where systemd is not PID 1, or with --root, no unit is started: after a change apply prints the commands that
start the proxy.

  -c, --config FILE   host.yaml
      --root DIR      write the files under DIR instead of / (an image, a chroot, a test). Not covered by it: the
                      LXD objects (the daemon's own), the nftables table (loaded into this kernel, from the file
                      under DIR), systemd (never touched with --root)
      --socket PATH   LXD's unix socket (default: discovered)
      --force         also change a bridge or profile that running instances use

exit: 0 converged, 1 not applied (a bridge or profile in use, without --force), 2 usage or config error,
      3 runtime failure, replace required or blocked
`;

export async function applyCommand(ctx: CommandContext): Promise<number> {
  const facts = await ctx.facts();
  const { plans } = planHost(facts, ctx.config);
  const guarded = inUse(plans.filter((p) => p.action !== 'none'));
  if (guarded.length > 0 && !ctx.force) {
    for (const p of guarded)
      process.stderr.write(
        `cuttle-provision: ${p.id} is in use by running instance(s) ${(p.inUseBy ?? []).join(', ')}\n`,
      );
    process.stderr.write('cuttle-provision: nothing changed; apply --force changes them anyway\n');
    return EXIT_CHANGES;
  }
  const done = await applyPlans(plans, systemEffects(ctx.client()));
  for (const p of done) process.stdout.write(`${p.action === 'create' ? 'created' : 'updated'} ${p.id}\n`);
  const again = planHost(await ctx.facts(), ctx.config);
  const left = again.plans.filter((p) => p.action !== 'none');
  if (left.length > 0) throw new ApplyError(`applied, but the host did not converge:\n${formatPlan(left)}`);
  process.stdout.write(done.length === 0 ? 'No changes.\n' : 'Converged.\n');
  if (!facts.systemd && done.length > 0) {
    const why = ctx.root === '/' ? 'systemd is not PID 1 here' : `the files are under --root ${ctx.root}`;
    process.stdout.write(
      `No unit was started (${why}). To run the proxy without systemd:\n${manualStartCommands(
        ctx.config,
        ctx.root,
        ctx.configFile,
      )
        .map((c) => `  ${c}\n`)
        .join('')}`,
    );
  }
  return EXIT_OK;
}
