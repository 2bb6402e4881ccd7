/**
 * Where LXD's unix socket is, in the order the LXD tools themselves look: `$LXD_SOCKET`, `$LXD_DIR/unix.socket`,
 * the snap's path, the deb's path, then Incus's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LxdUnreachableError } from '../errors.js';

export const SNAP_SOCKET = '/var/snap/lxd/common/lxd/unix.socket';
export const DEB_SOCKET = '/var/lib/lxd/unix.socket';
export const INCUS_SOCKET = '/var/lib/incus/unix.socket';

/** The candidate socket paths in discovery order, with where each came from. */
export function socketCandidates(env: NodeJS.ProcessEnv): { path: string; from: string }[] {
  const out: { path: string; from: string }[] = [];
  if (env.LXD_SOCKET) out.push({ path: env.LXD_SOCKET, from: '$LXD_SOCKET' });
  if (env.LXD_DIR) out.push({ path: join(env.LXD_DIR, 'unix.socket'), from: '$LXD_DIR' });
  out.push({ path: SNAP_SOCKET, from: 'snap' });
  out.push({ path: DEB_SOCKET, from: 'deb' });
  out.push({ path: INCUS_SOCKET, from: 'incus' });
  return out;
}

/**
 * The first candidate that exists. An explicit `$LXD_SOCKET` or `$LXD_DIR` that does not exist is an error rather
 * than a reason to fall through to the system daemon: a test or an operator who names a daemon means that one.
 */
export function discoverSocket(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): string {
  const candidates = socketCandidates(env);
  for (const c of candidates) {
    if (exists(c.path)) return c.path;
    if (c.from === '$LXD_SOCKET' || c.from === '$LXD_DIR')
      throw new LxdUnreachableError(
        `${c.from} names ${c.path}, which does not exist (is the daemon running?)`,
      );
  }
  throw new LxdUnreachableError(
    `no LXD socket found (looked at ${candidates.map((c) => c.path).join(', ')}); set LXD_SOCKET or LXD_DIR`,
  );
}
