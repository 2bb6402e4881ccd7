/**
 * `identity --watch`: keep the map file equal to what LXD says, reacting to lifecycle events.
 *
 *   write once -> events socket --any lifecycle event--> (debounce) collect -> write if changed
 *              \-> every RESYNC_MS: collect -> write if changed (an event missed while reconnecting)
 *   events socket lost -> retry every RETRY_MS (the map keeps its last content meanwhile)
 */
import type { LxdClient } from '../lxd/client.js';
import { collectIdentities } from './collect.js';
import { openLifecycleEvents } from './events.js';
import { writeIdentityMap } from './map-file.js';

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
}

/** Writes the map once; resolves with the number of instances written. Throws if LXD cannot be asked. */
export async function syncIdentityMap(
  client: LxdClient,
  file: string,
): Promise<{ count: number; wrote: boolean }> {
  const records = await collectIdentities(client);
  return { count: records.length, wrote: writeIdentityMap(file, records) };
}

/** Runs until `stop` resolves. The first sync must succeed (else it throws); later failures are said and retried. */
export async function watchIdentityMap(options: IdentityWatchOptions): Promise<void> {
  const { client, file, say } = options;
  const sync = async (): Promise<void> => {
    try {
      const r = await syncIdentityMap(client, file);
      if (r.wrote) say(`identity map ${file}: ${r.count} NIC(s)`);
    } catch (err) {
      say(`identity sync failed: ${(err as Error).message}`);
    }
  };
  const first = await syncIdentityMap(client, file);
  say(`identity map ${file}: ${first.count} NIC(s)${first.wrote ? '' : ' (unchanged)'}`);
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
