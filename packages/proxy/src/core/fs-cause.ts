/**
 * The real cause of a failed file or socket operation, in words an operator acts on: a missing directory is named
 * as such (libuv reports a unix-socket bind into a missing directory as EACCES), a permission problem as one.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** Why `path` could not be opened, created or bound, from `err` and a look at its directory. */
export function fsCause(err: unknown, path: string): string {
  const e = err as NodeJS.ErrnoException;
  const dir = dirname(path);
  switch (e.code) {
    case 'ENOENT':
    case 'EACCES':
    case 'EPERM':
      if (!existsSync(dir)) return `the directory ${dir} does not exist`;
      if (e.code === 'ENOENT') return `${path} does not exist`;
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch {
        return `permission denied: this process (uid ${process.getuid?.() ?? '?'}) cannot write to ${dir}`;
      }
      return `permission denied (${e.code}) on ${path}`;
    case 'ENOTDIR':
      return `a part of ${dir} is not a directory`;
    case 'EISDIR':
      return `${path} is a directory`;
    case 'EROFS':
      return `${dir} is on a read-only file system`;
    default:
      return e.message ?? String(err);
  }
}
