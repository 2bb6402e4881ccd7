/**
 * Writes a file so that a reader sees the old content or the new one, never half of either, and with exactly the
 * given mode whatever the umask or the old file's mode: a temp file beside it (same directory, so the rename stays
 * on one filesystem), written, chmod'ed, fsync'ed, renamed over, then the directory fsync'ed so the rename itself
 * survives a crash. A failure removes the temp file and leaves the old one as it was.
 */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `content` to `path` atomically with permission bits `mode`; creates missing parent directories. */
export function writeFileAtomic(path: string, content: string, mode: number): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true }); // left by a run that died with this pid
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, content);
    fchmodSync(fd, mode);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
