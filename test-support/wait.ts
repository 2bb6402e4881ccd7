/** Polling for what other processes do asynchronously: a file, a device, an access-log line. */
import type { ProxyProcess } from './proxy-process.js';

/** Polls `get` every 250 ms until `ok` holds, then resolves with the value; throws naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  get: () => T | Promise<T>,
  ok: (v: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The first access-log record `match` accepts, waiting for it: the proxy writes its log asynchronously, so a test
 * that reads the log right after the response can miss the line.
 */
export async function waitForRecord(
  proxy: ProxyProcess,
  match: (record: Record<string, unknown>) => boolean,
  ms = 10_000,
): Promise<Record<string, unknown>> {
  const found = await waitFor(
    'an access-log record',
    () => proxy.accessLog().find(match),
    (r) => r !== undefined,
    ms,
  );
  return found as Record<string, unknown>;
}
