/** `cuttle-provision verify`: check the live host (and a container) really is isolated; a pass/fail table. */

import { planHost } from '../../resources/plan-host.js';
import { formatChecks } from '../../verify/check.js';
import { hostChecks } from '../../verify/host-checks.js';
import { instanceChecks } from '../../verify/instance-checks.js';
import type { CommandContext } from '../context.js';
import { EXIT_CHANGES, EXIT_OK } from '../exit-codes.js';
import { unmanagedLine } from '../format-plan.js';

export const VERIFY_HELP = `usage: cuttle-provision verify --config host.yaml [--instance NAME [--port N]... [--url URL]] [--json]
                               [--root DIR] [--socket PATH]

Checks the live host: the bridge has no IPv4 and only link-local IPv6 with the declared address, no NAT or
forwarding, the firewall table is loaded, the proxy listens only on the bridge's fe80 address (bridge mode), the
proxy answers 403 for a denied name on its unix socket (socket mode), the profile keys are set, LXD is not on the
network, the bridge guard (tables netdev and bridge) is loaded on the bridge and holds exactly the NICs LXD has on
it. With --instance, also from inside that container: no default route, the proxy answers, its link-local
address is the EUI-64 address of its MAC (else the guard cuts it off), an address it claims (DAD off, added for
the moment) reaches nothing and the host does not learn it, another instance on the bridge does not answer, no
IPv4 and no ARP answer from the host (an IPv4 address added for the moment), nothing else on the host answers
from the bridge (DNS on 53 over UDP and TCP, port 22, each --port), and the host's other addresses cannot be
reached directly. An instance without a NIC is checked in socket mode: no interface but lo,
the proxy answers on 127.0.0.1:PORT, a denied name gets 403. The instances that are on no managed profile are
listed (they keep whatever network they had).

  -c, --config FILE     host.yaml
      --instance NAME   also check from inside this container
      --port N          another TCP port that must not answer on the bridge address (repeatable)
      --url URL         an allowed URL the container must fetch through the proxy
      --json            results as JSON
      --root DIR        accepted for symmetry with plan/apply; every check is of the live host and its kernel
                        (bridge, nftables table, listener, LXD), never of files under DIR
      --socket PATH     LXD's unix socket (default: discovered)

exit: 0 every check passed, 1 a check failed, 2 usage or config error, 3 runtime failure
`;

export async function verifyCommand(ctx: CommandContext): Promise<number> {
  const client = ctx.client();
  const facts = await ctx.facts();
  const results = await hostChecks(client, ctx.config, facts);
  const { unmanaged } = planHost(facts, ctx.config);
  if (ctx.instance !== undefined)
    results.push(
      ...(await instanceChecks(client, ctx.config, ctx.instance, {
        facts,
        ports: ctx.ports,
        ...(ctx.url ? { url: ctx.url } : {}),
      })),
    );
  process.stdout.write(
    ctx.json
      ? `${JSON.stringify({ ok: results.every((r) => r.ok), checks: results, unmanaged_instances: unmanaged }, null, 2)}\n`
      : `${formatChecks(results)}${unmanagedLine(unmanaged)}`,
  );
  return results.every((r) => r.ok) ? EXIT_OK : EXIT_CHANGES;
}
