/** A staging tree whose files, modes and times are fixed, so the archive built from it is the same every time. */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export class StagingTree {
  constructor(readonly dir: string) {}

  /** Writes `content` at `path` (relative to the tree) with `mode`. */
  write(path: string, content: string | Buffer, mode = 0o644): void {
    const full = join(this.dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    chmodSync(full, mode);
  }

  /** Copies a file in with `mode`. */
  copy(from: string, path: string, mode = 0o644): void {
    const full = join(this.dir, path);
    mkdirSync(dirname(full), { recursive: true });
    copyFileSync(from, full);
    chmodSync(full, mode);
  }

  /** Writes `content` gzip-compressed at maximum level, with no name and no time in the header. */
  writeGzip(path: string, content: string | Buffer): void {
    this.write(path, gzipSync(content, { level: 9 }));
  }

  /** Every regular file, relative, sorted. */
  files(): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(this.dir, rel), { withFileTypes: true })) {
        const r = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) walk(r);
        else out.push(r);
      }
    };
    walk('');
    return out.sort();
  }

  /** Directories 0755, and every entry's time set to `epoch`. */
  fixTimes(epoch: number): void {
    const walk = (full: string): void => {
      for (const e of readdirSync(full, { withFileTypes: true })) {
        const p = join(full, e.name);
        if (e.isDirectory()) {
          chmodSync(p, 0o755);
          walk(p);
        }
        utimesSync(p, epoch, epoch);
      }
    };
    chmodSync(this.dir, 0o755);
    walk(this.dir);
    utimesSync(this.dir, epoch, epoch);
  }

  /** Installed-Size in KiB, as dpkg counts it (each file rounded up, one per directory). */
  installedSizeKiB(): number {
    let kib = 0;
    const walk = (full: string): void => {
      for (const e of readdirSync(full, { withFileTypes: true })) {
        const p = join(full, e.name);
        kib += e.isDirectory() ? 1 : Math.ceil(statSync(p).size / 1024);
        if (e.isDirectory()) walk(p);
      }
    };
    walk(this.dir);
    return kib;
  }
}
