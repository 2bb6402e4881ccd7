/** `cuttle-provision remove`: take away the files, the firewall table and the unit it owns; never a pool. */
import { applyPlans, systemEffects } from '../../resources/apply.js';
import { planRemoval } from '../../resources/plan-host.js';
import type { CommandContext } from '../context.js';
import { EXIT_OK } from '../exit-codes.js';

export const REMOVE_HELP = `usage: cuttle-provision remove --config host.yaml [--root DIR]

Removes what cuttle-provision owns: the proxy config, the nftables table and its file, the systemd unit, the APT
pin (files are removed only while they still carry the "Managed by cuttle-provision" header). The pool, the bridge
and the profile stay: containers use them.

  -c, --config FILE   host.yaml
      --root DIR      prefix for the files (default /)

exit: 0 removed (or nothing to remove), 2 usage or config error, 3 runtime failure
`;

export async function removeCommand(ctx: CommandContext): Promise<number> {
  const done = await applyPlans(planRemoval(await ctx.facts(), ctx.config), systemEffects(ctx.client()));
  for (const p of done) process.stdout.write(`removed ${p.id}\n`);
  if (done.length === 0) process.stdout.write('Nothing to remove.\n');
  return EXIT_OK;
}
