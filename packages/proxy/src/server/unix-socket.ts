/**
 * `unix:/run/cuttle/NAME.sock` listeners: what to do with a file already at the path, the socket's permissions, and
 * the client identity its name gives.
 *
 *   path free ------------------------------> bind
 *   a socket, connect refused (stale, crash) -> unlink, bind
 *   a socket, connect succeeds (live) -------> UnixSocketError (another process serves it)
 *   anything else (file, directory, ...) ----> UnixSocketError (never deleted)
 *
 * The bind happens under umask 0177 (a synchronous bind for pipes), so no one but the daemon can connect before
 * the configured mode and owner are applied.
 */

import { readFileSync } from 'node:fs';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import * as net from 'node:net';
import { basename } from 'node:path';
import { CuttleError } from '@cuttle/shared';
import { fsCause } from '../core/fs-cause.js';

/** How long the liveness probe waits for a connect before calling the socket stale, ms. */
const PROBE_MS = 1000;

/** Permissions of the socket files (`unix_socket` in the config). */
export interface UnixSocketAccess {
  /** Octal text, `0660`. */
  readonly mode: string;
  /** User name or numeric uid; null keeps the daemon's. */
  readonly owner: string | null;
  /** Group name or numeric gid; null keeps the daemon's. */
  readonly group: string | null;
}

/** The default when the config says nothing: owner and group may connect. */
export const DEFAULT_UNIX_SOCKET_ACCESS: UnixSocketAccess = { mode: '0660', owner: null, group: null };

/** A unix listen path that cannot be used; the message names the path. */
export class UnixSocketError extends CuttleError {
  override readonly name = 'UnixSocketError';
  readonly code = 'CUTTLE_ERR_UNIX_SOCKET';
}

/** `/run/cuttle/blog.sock` -> `unix:blog`: the client identity of every connection on that socket. */
export function unixClientLabel(path: string): string {
  const base = basename(path);
  return `unix:${base.endsWith('.sock') ? base.slice(0, -'.sock'.length) : base}`;
}

function probe(path: string): Promise<'live' | 'stale'> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path });
    const timer = setTimeout(() => {
      s.destroy();
      // A listener that never accepts is not ours to delete.
      resolve('live');
    }, PROBE_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED') resolve('stale');
      else
        reject(new UnixSocketError(`unix socket ${path}: cannot probe it: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Makes `path` free to bind: nothing there, or a stale socket (removed). Throws UnixSocketError for a live socket
 * or a file that is not a socket.
 */
export async function clearSocketPath(path: string): Promise<'free' | 'replaced'> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
    throw new UnixSocketError(`unix socket ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isSocket())
    throw new UnixSocketError(`unix socket ${path}: a file that is not a socket is in the way`);
  if ((await probe(path)) === 'live')
    throw new UnixSocketError(`unix socket ${path} is in use: another process accepts connections on it`);
  await unlink(path);
  return 'replaced';
}

/** Binds `server` on `path` with only the daemon able to connect until `applySocketAccess` runs. */
export function listenUnix(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new UnixSocketError(`unix socket ${path}: cannot bind: ${fsCause(err, path)}`, { cause: err }));
    server.once('error', onError);
    let old: number | null = null;
    try {
      old = process.umask(0o177);
    } catch {
      // A worker thread cannot change the umask: the mode is then only set after the bind.
    }
    try {
      server.listen({ path, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (old !== null) process.umask(old);
    }
  });
}

/** Finds `name` in an /etc/passwd-style file (field 0 name, field 2 id); numeric text is taken as the id. */
function lookupId(name: string, file: string, what: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // Falls through to "unknown".
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^[0-9]+$/.test(f[2])) return Number(f[2]);
  }
  throw new UnixSocketError(`unknown ${what} "${name}" (not in ${file})`);
}

/** Applies mode, owner and group to the bound socket file. */
export async function applySocketAccess(path: string, access: UnixSocketAccess): Promise<void> {
  try {
    const uid = access.owner === null ? -1 : lookupId(access.owner, '/etc/passwd', 'user');
    const gid = access.group === null ? -1 : lookupId(access.group, '/etc/group', 'group');
    if (uid !== -1 || gid !== -1) await chown(path, uid, gid);
    await chmod(path, Number.parseInt(access.mode, 8));
  } catch (err) {
    if (err instanceof UnixSocketError) throw new UnixSocketError(`unix socket ${path}: ${err.message}`);
    throw new UnixSocketError(`unix socket ${path}: ${(err as Error).message}`, { cause: err });
  }
}
