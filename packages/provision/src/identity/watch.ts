/**
 * `identity --watch`: keep the map file equal to what LXD says, reacting to lifecycle events.
 *
 *   write once -> events socket --any lifecycle event--> (debounce) collect -> write if changed
 *              \-> every RESYNC_MS: collect -> write if changed (an event missed while reconnecting)
 *   events socket lost -> retry every RETRY_MS (the map keeps its last content meanwhile)
 *
 * With `sockets` (--socket-dir), each sync also lists the opted-in instances with `"socket": true` and then gives
 * them their proxy device (socket-devices.ts): the map first, so the proxy binds the socket about when the device
 * appears (LXD's forkproxy connects per connection, so a device may exist before its socket).
 */
import { existsSync } from 'node:fs';
import { expectedPairs, guardMembers, loadGuardSets, readGuardPairs } from '../guard/guard-sets.js';
import type { LxdClient } from '../lxd/client.js';
import { collectIdentities, listInstances, type NicRecord } from './collect.js';
import { openLifecycleEvents } from './events.js';
import { IdentityMapKeeper, MAP_CHECK_MS, writeIdentityMap } from './map-file.js';
import { syncSocketDevices } from './socket-devices.js';

/** Per-instance sockets: the proxy's `identity.socket_dir` and the name of the device to manage. */
export interface SocketOptions {
  readonly dir: string;
  readonly device?: string;
}

/** The bridge guard to keep in step (`--guard-table`, `--guard-bridge`): the tables `apply` loaded. */
export interface GuardOptions {
  readonly table: string;
  readonly bridge: string;
}

const DEBOUNCE_MS = 200;
const RESYNC_MS = 60_000;
const RETRY_MS = 2_000;

export interface IdentityWatchOptions {
  readonly client: LxdClient;
  /** The map file to keep current (undefined: only the bridge guard). */
  readonly file: string | undefined;
  readonly say: (line: string) => void;
  /** Resolves to stop. */
  readonly stop: Promise<void>;
  readonly sockets?: SocketOptions | undefined;
  readonly guard?: GuardOptions | undefined;
}

/**
 * Writes the map once (and, with `sockets`, brings the proxy devices in line); resolves with the number of lines
 * written and the device changes. Throws if LXD cannot be asked or the map cannot be written; `file` may be the
 * watcher's keeper, which waits for a missing directory instead.
 */
export async function syncIdentityMap(
  client: LxdClient,
  file: string | IdentityMapKeeper | undefined,
  sockets?: SocketOptions,
  guard?: GuardOptions,
): Promise<{ count: number; wrote: boolean; devices: string[] }> {
  const instances = await listInstances(client);
  const records = await collectIdentities(client, {
    instances,
    sockets: sockets !== undefined,
    ...(guard === undefined ? {} : { guardedBridge: guard.bridge }),
  });
  // The guard first: an entry is marked filtered only once the kernel drops spoofed frames for it.
  const devices = guard === undefined ? [] : syncGuard(guard, records);
  const wrote =
    file === undefined
      ? false
      : typeof file === 'string'
        ? writeIdentityMap(file, records)
        : file.write(records);
  if (sockets !== undefined)
    devices.push(...(await syncSocketDevices(client, sockets.dir, instances, sockets.device)));
  return { count: records.length, wrote, devices };
}

/** Brings the guard's sets in line with the NICs on its bridge; the lines say what changed. */
function syncGuard(guard: GuardOptions, records: readonly IdentityRecordLike[]): string[] {
  const members = guardMembers(
    records.filter((r): r is NicRecord => 'mac' in r),
    guard.bridge,
  );
  const have = readGuardPairs(guard.table);
  if (have === null)
    throw new Error(
      `bridge guard: table netdev ${guard.table} is not loaded (cuttle-provision apply loads it)`,
    );
  if (have.join('\n') === expectedPairs(members).join('\n')) return [];
  loadGuardSets(guard.table, members);
  return [
    `bridge guard ${guard.table} on ${guard.bridge}: ${members.length} NICs (${members.map((m) => m.name).join(', ') || 'none'})`,
  ];
}

type IdentityRecordLike = Awaited<ReturnType<typeof collectIdentities>>[number];

/** Runs until `stop` resolves. The first sync must succeed (else it throws); later failures are said and retried. */
export async function watchIdentityMap(options: IdentityWatchOptions): Promise<void> {
  const { client, file, say } = options;
  const keeper = file === undefined ? undefined : new IdentityMapKeeper(file, say);
  const sync = async (): Promise<void> => {
    try {
      const r = await syncIdentityMap(client, keeper, options.sockets, options.guard);
      if (r.wrote) say(`identity map ${file}: ${r.count} entries`);
      for (const line of r.devices) say(line);
    } catch (err) {
      say(`identity sync failed: ${(err as Error).message}`);
    }
  };
  const first = await syncIdentityMap(client, keeper, options.sockets, options.guard);
  if (file !== undefined)
    say(
      `identity map ${file}: ${first.count} entries${first.wrote ? '' : existsSync(file) ? ' (unchanged)' : ' (not written yet)'}`,
    );
  for (const line of first.devices) say(line);
  let stopped = false;
  void options.stop.then(() => {
    stopped = true;
  });
  let timer: NodeJS.Timeout | null = null;
  const onEvent = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void sync();
    }, DEBOUNCE_MS);
  };
  const resync = setInterval(() => void sync(), RESYNC_MS);
  // The map's directory may come and go with the proxy (its RuntimeDirectory=): put the last map back at once.
  const keep = setInterval(() => {
    try {
      if (keeper?.check() === true) say(`identity map ${file}: written again (it was removed)`);
    } catch (err) {
      say(`identity map ${file}: ${(err as Error).message}`);
    }
  }, MAP_CHECK_MS);
  try {
    while (!stopped) {
      let stream: Awaited<ReturnType<typeof openLifecycleEvents>> | null = null;
      try {
        stream = await openLifecycleEvents(client.socketPath, onEvent);
        // Events may have been missed while (re)connecting.
        await sync();
        say('following LXD lifecycle events');
        await Promise.race([stream.ended, options.stop]);
        if (!stopped) say('LXD events stream ended; reconnecting');
      } catch (err) {
        say(`LXD events: ${(err as Error).message}; retrying`);
      } finally {
        stream?.close();
      }
      if (!stopped) await Promise.race([new Promise((r) => setTimeout(r, RETRY_MS)), options.stop]);
    }
  } finally {
    clearInterval(resync);
    clearInterval(keep);
    if (timer !== null) clearTimeout(timer);
  }
}
