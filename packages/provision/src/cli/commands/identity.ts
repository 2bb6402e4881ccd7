/**
 * `cuttle-provision identity --map FILE [--watch] [--socket PATH]`: writes the container identity map the proxy
 * follows (`identity.map_file` in its config). Runs as its own unit so the proxy never needs the LXD socket, whose
 * access is root-equivalent. Without --watch it writes once and exits.
 */
import { parseArgs } from 'node:util';
import { LxdApiError, LxdUnreachableError } from '../../errors.js';
import { syncIdentityMap, watchIdentityMap } from '../../identity/watch.js';
import { LxdClient } from '../../lxd/client.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from '../exit-codes.js';

export const IDENTITY_HELP = `usage: cuttle-provision identity --map FILE [--watch] [--socket PATH]

Writes FILE: every LXD instance's bridged NICs with instance name, MAC, EUI-64 link-local address, bridge and
whether LXD's MAC and IPv6 filtering are on for the NIC (only then may the proxy grant by container). The file is
written aside and renamed over, and only when it changes. With --watch, follows LXD's lifecycle events (and
re-reads every minute) until SIGTERM or SIGINT.

  --map FILE      the map file (the proxy's identity.map_file)
  --watch         keep it current until stopped
  --socket PATH   LXD's unix socket (default: discovered)
  -h, --help      this text

exit: 0 written (or stopped cleanly), 2 bad usage, 3 LXD unreachable or the map unwritable
`;

const say = (line: string): void => {
  process.stderr.write(`cuttle-provision: ${line}\n`);
};

/** Runs the command; resolves with the exit code. */
export async function identityCommand(argv: string[]): Promise<number> {
  let values: { map?: string; watch?: boolean; socket?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        map: { type: 'string' },
        watch: { type: 'boolean' },
        socket: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    say((err as Error).message);
    process.stderr.write(IDENTITY_HELP);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(IDENTITY_HELP);
    return EXIT_OK;
  }
  if (values.map === undefined) {
    say('--map FILE is required');
    process.stderr.write(IDENTITY_HELP);
    return EXIT_USAGE;
  }
  const file = values.map;
  try {
    const client = new LxdClient(values.socket === undefined ? {} : { socketPath: values.socket });
    if (!values.watch) {
      const r = await syncIdentityMap(client, file);
      say(`identity map ${file}: ${r.count} NIC(s)${r.wrote ? '' : ' (unchanged)'}`);
      return EXIT_OK;
    }
    const stop = new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await watchIdentityMap({ client, file, say, stop });
    say('stopped');
    return EXIT_OK;
  } catch (err) {
    if (err instanceof LxdApiError || err instanceof LxdUnreachableError) say(err.message);
    else say(`identity map ${file}: ${(err as Error).message}`);
    return EXIT_RUNTIME;
  }
}
