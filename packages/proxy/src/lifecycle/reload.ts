/**
 * Reload (SIGHUP): read, parse, validate and compile the config file, then swap it in; nothing changes unless all
 * of that succeeds. A bad file keeps the running config and its errors (file:line:col, key) go to stderr.
 * In-flight requests and open tunnels keep the context they started with.
 */
import type { Config } from '@cuttle/shared';
import { loadConfigFile } from './load-config-file.js';

export type ReloadResult = { ok: true; config: Config } | { ok: false; message: string };

/** Loads `file` as a new config candidate; never throws. */
export async function loadReloadCandidate(file: string): Promise<ReloadResult> {
  try {
    return { ok: true, config: await loadConfigFile(file) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** True when two listen lists name the same entries (order ignored). */
export function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
