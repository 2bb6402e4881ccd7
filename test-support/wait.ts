/** Polling for what other processes do asynchronously: a file, a device, a map entry (access-log lines: ProxyProcess.waitForRecord). */

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
