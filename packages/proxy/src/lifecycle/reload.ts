/**
 * Reload (SIGHUP): read, parse and validate the config file and the files it names, prepare it (policy, parent,
 * origin client factory), then swap it in; nothing changes unless all of that succeeds. A bad file keeps the running config and its errors (file:line:col, key) go to stderr.
 * In-flight requests and open tunnels keep the context they started with.
 */
import { loadConfigFile } from './load-config-file.js';
import { type PreparedConfig, prepare } from './prepare.js';

export type ReloadResult = { ok: true; prepared: PreparedConfig } | { ok: false; message: string };

/** Loads and prepares `file` as a new config candidate; never throws. */
export async function loadReloadCandidate(file: string): Promise<ReloadResult> {
  try {
    const { config, files } = await loadConfigFile(file);
    return { ok: true, prepared: prepare(config, files) };
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
