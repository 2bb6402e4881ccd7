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
import type { LxdClient } from '../lxd/client.js';
import { collectIdentities, listInstances } from './collect.js';
import { openLifecycleEvents } from './events.js';
import { writeIdentityMap } from './map-file.js';
import { syncSocketDevices } from './socket-devices.js';

/** Per-instance sockets: the proxy's `identity.socket_dir` and the name of the device to manage. */
export interface SocketOptions {
  readonly dir: string;
  readonly device?: string;
}

const DEBOUNCE_MS = 200;
const RESYNC_MS = 60_000;
const RETRY_MS = 2_000;

export interface IdentityWatchOptions {
  readonly client: LxdClient;
  /** The map file to keep current. */
  readonly file: string;
  readonly say: (line: string) => void;
  /** Resolves to stop. */
  readonly stop: Promise<void>;
  readonly sockets?: SocketOptions | undefined;
}

/**
 * Writes the map once (and, with `sockets`, brings the proxy devices in line); resolves with the number of lines
 * written and the device changes. Throws if LXD cannot be asked.
 */
export async function syncIdentityMap(
  client: LxdClient,
  file: string,
  sockets?: SocketOptions,
): Promise<{ count: number; wrote: boolean; devices: string[] }> {
  const instances = await listInstances(client);
  const records = await collectIdentities(client, { instances, sockets: sockets !== undefined });
  const wrote = writeIdentityMap(file, records);
  const devices =
    sockets === undefined ? [] : await syncSocketDevices(client, sockets.dir, instances, sockets.device);
  return { count: records.length, wrote, devices };
}

/** Runs until `stop` resolves. The first sync must succeed (else it throws); later failures are said and retried. */
export async function watchIdentityMap(options: IdentityWatchOptions): Promise<void> {
  const { client, file, say } = options;
  const sync = async (): Promise<void> => {
    try {
      const r = await syncIdentityMap(client, file, options.sockets);
      if (r.wrote) say(`identity map ${file}: ${r.count} entries`);
      for (const line of r.devices) say(line);
    } catch (err) {
      say(`identity sync failed: ${(err as Error).message}`);
    }
  };
  const first = await syncIdentityMap(client, file, options.sockets);
  say(`identity map ${file}: ${first.count} entries${first.wrote ? '' : ' (unchanged)'}`);
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
    if (timer !== null) clearTimeout(timer);
  }
}
