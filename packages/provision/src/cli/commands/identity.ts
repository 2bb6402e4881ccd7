/**
 * `cuttle-provision identity --map FILE [--watch] [--socket PATH] [--socket-dir DIR [--device NAME]]`: writes the container identity map the proxy
 * follows (`identity.map_file` in its config). Runs as its own unit (cuttle-identity.service, which passes
 * `--config /etc/cuttle/host.yaml` and nothing else) so the proxy never needs the LXD socket, whose access is
 * root-equivalent. Without --watch it writes once and exits.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '@cuttle/shared';
import { LxdApiError, LxdUnreachableError } from '../../errors.js';
import { loadHostConfig } from '../../host-config/load-host-config.js';
import { syncIdentityMap, watchIdentityMap } from '../../identity/watch.js';
import { LxdClient } from '../../lxd/client.js';
import { generatedConfigChecks } from '../../render/proxy-config.js';
import { watcherArgs } from '../../render/watcher-args.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from '../exit-codes.js';

export const IDENTITY_HELP = `usage: cuttle-provision identity [--config host.yaml] [--map FILE] [--watch] [--socket PATH]
                                  [--socket-dir DIR [--device NAME]]
                                  [--guard-table NAME --guard-bridge BRIDGE]

Writes FILE: every LXD instance's bridged NICs with instance name, MAC, EUI-64 link-local address, bridge and
whether LXD's MAC and IPv6 filtering are on for the NIC (only then may the proxy grant by container). The file is
written aside and renamed over, and only when it changes. With --watch, follows LXD's lifecycle events (and
re-reads every minute) until SIGTERM or SIGINT.

Per-instance sockets (--socket-dir DIR, the proxy's identity.socket_dir): every instance whose expanded config
has user.cuttle.socket=true (set on the instance or on a profile) is listed in the map with "socket": true, so
the proxy binds DIR/NAME.sock for it, and gets its own LXD proxy device NAME (default cuttle, which overrides a
profile device of that name) listen=tcp:127.0.0.1:3128 connect=unix:DIR/NAME.sock bind=container. An instance
that no longer opts in loses that device (only if it connects into DIR).

Bridge guard (--guard-table NAME --guard-bridge BRIDGE, host.yaml's firewall.table and bridge.name): each sync
first makes the guard's sets (tables netdev and bridge NAME, loaded by apply) hold exactly the MAC and EUI-64
link-local address of every NIC on BRIDGE, so a container LXD has just given a NIC is let through and one that
left is not; a frame from a NIC the sets do not hold is dropped meanwhile. Those NICs (with
security.mac_filtering) are then marked filtered in the map: the proxy may grant by container.

  -c, --config FILE   take the rest from host.yaml: --map and --socket-dir from proxy.settings.identity
                  (map_file, socket_dir), --device from socket.device, the guard from firewall.table and
                  bridge.name (mode bridge with firewall.load), --socket from lxd_socket; a flag given as well wins.
                  What cuttle-identity.service runs.
  --map FILE      the map file (the proxy's identity.map_file)
  --watch         keep it current until stopped
  --socket PATH   LXD's unix socket (default: discovered)
  --socket-dir DIR  per-instance sockets and devices (an absolute path)
  --device NAME   the per-instance device's name (default cuttle)
  --guard-table NAME    the bridge guard's table (firewall.table)
  --guard-bridge BRIDGE the bridge it guards (bridge.name)
  -h, --help      this text

exit: 0 written (or stopped cleanly), 2 bad usage, 3 LXD unreachable or the map unwritable
`;

const say = (line: string): void => {
  process.stderr.write(`cuttle-provision: ${line}\n`);
};

/** Runs the command; resolves with the exit code. */
export async function identityCommand(argv: string[]): Promise<number> {
  let values: {
    config?: string;
    map?: string;
    watch?: boolean;
    socket?: string;
    'socket-dir'?: string;
    device?: string;
    'guard-table'?: string;
    'guard-bridge'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        map: { type: 'string' },
        watch: { type: 'boolean' },
        socket: { type: 'string' },
        'socket-dir': { type: 'string' },
        device: { type: 'string' },
        'guard-table': { type: 'string' },
        'guard-bridge': { type: 'string' },
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
  if (values.config !== undefined) {
    const file = values.config;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      say(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return EXIT_USAGE;
    }
    let host: ReturnType<typeof watcherArgs>;
    try {
      host = watcherArgs(loadHostConfig(text, file, { check: generatedConfigChecks }));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      say(`invalid config:\n${err.message}`);
      return EXIT_USAGE;
    }
    if (host.file === undefined && host.guard === undefined) {
      say(
        `${file}: nothing to keep in step (no bridge guard: mode socket or firewall.load false; no proxy.settings.identity.map_file)`,
      );
      return EXIT_USAGE;
    }
    values = {
      ...(host.file === undefined ? {} : { map: host.file }),
      ...(host.sockets === undefined ? {} : { 'socket-dir': host.sockets.dir, device: host.sockets.device }),
      ...(host.guard === undefined
        ? {}
        : { 'guard-table': host.guard.table, 'guard-bridge': host.guard.bridge }),
      ...(host.lxdSocket === undefined ? {} : { socket: host.lxdSocket }),
      ...values,
    };
  }
  if (values.map === undefined && values['guard-table'] === undefined) {
    say('--map FILE is required (or --guard-table/--guard-bridge alone, or --config host.yaml)');
    process.stderr.write(IDENTITY_HELP);
    return EXIT_USAGE;
  }
  const file = values.map;
  const dir = values['socket-dir'];
  // The same bounds as the proxy's identity.socket_dir: absolute, and DIR/NAME.sock fits sockaddr_un.
  if (dir !== undefined && (!/^\/(?:[^/]+\/?)*$/.test(dir) || dir.length > 38)) {
    say(`--socket-dir ${dir}: expected an absolute directory path of at most 38 bytes`);
    return EXIT_USAGE;
  }
  if (values.device !== undefined && dir === undefined) {
    say('--device needs --socket-dir');
    return EXIT_USAGE;
  }
  if (values.device !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.device)) {
    say(`--device ${values.device}: not an LXD device name`);
    return EXIT_USAGE;
  }
  const gt = values['guard-table'];
  const gb = values['guard-bridge'];
  if ((gt === undefined) !== (gb === undefined)) {
    say('--guard-table and --guard-bridge go together');
    return EXIT_USAGE;
  }
  if (gt !== undefined && !/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(gt)) {
    say(`--guard-table ${gt}: not an nftables table name (letters, digits and _)`);
    return EXIT_USAGE;
  }
  if (gb !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/.test(gb)) {
    say(`--guard-bridge ${gb}: not a network interface name (at most 15 characters)`);
    return EXIT_USAGE;
  }
  const guard = gt === undefined || gb === undefined ? undefined : { table: gt, bridge: gb };
  const sockets =
    dir === undefined
      ? undefined
      : { dir, ...(values.device === undefined ? {} : { device: values.device }) };
  try {
    const client = new LxdClient(values.socket === undefined ? {} : { socketPath: values.socket });
    if (!values.watch) {
      const r = await syncIdentityMap(client, file, sockets, guard);
      if (file !== undefined) say(`identity map ${file}: ${r.count} entries${r.wrote ? '' : ' (unchanged)'}`);
      for (const line of r.devices) say(line);
      return EXIT_OK;
    }
    const stop = new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await watchIdentityMap({ client, file, say, stop, sockets, guard });
    say('stopped');
    return EXIT_OK;
  } catch (err) {
    if (err instanceof LxdApiError || err instanceof LxdUnreachableError) say(err.message);
    else say(`identity map ${file}: ${(err as Error).message}`);
    return EXIT_RUNTIME;
  }
}
