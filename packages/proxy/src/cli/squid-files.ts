/**
 * The files a squid.conf names, read from disk for `cuttle import-squid`: `include` patterns (glob(3): `*`, `?` and
 * `[...]` in any path segment, matches sorted), list files and `hosts_file`. With `--root DIR`, absolute paths are
 * taken under DIR (a copy of another host's /etc/squid and what it names); a relative path is taken from the
 * squid.conf's directory.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { SquidFiles } from '@cuttle/shared';
import { RuntimeError } from '../core/exit-codes.js';

/** One glob(3) path segment as a RegExp; as in glob(3), a leading dot is only matched by a leading dot. */
function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replaceAll('\\', '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The disk-backed `SquidFiles` for a squid.conf at `confPath`, with absolute paths under `root` if given. */
export function diskSquidFiles(confPath: string, root: string | undefined): SquidFiles {
  const base = dirname(resolve(confPath));
  const resolvePath = (p: string): string =>
    isAbsolute(p) ? (root === undefined ? p : join(root, p)) : resolve(base, p);
  return {
    resolve: resolvePath,
    glob(pattern) {
      const full = resolvePath(pattern);
      if (!hasMagic(full)) return isFile(full) ? [full] : [];
      const parts = full.split('/').filter((s) => s !== '');
      let dirs = ['/'];
      for (const [i, part] of parts.entries()) {
        const last = i === parts.length - 1;
        const next: string[] = [];
        for (const d of dirs) {
          if (!hasMagic(part)) {
            next.push(join(d, part));
            continue;
          }
          const re = segmentRegex(part);
          let names: string[];
          try {
            names = readdirSync(d);
          } catch {
            continue;
          }
          for (const n of names.sort())
            if (re.test(n) && !(n.startsWith('.') && !part.startsWith('.'))) next.push(join(d, n));
        }
        dirs = last ? next.filter(isFile) : next;
      }
      return dirs.sort();
    },
    read(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw new RuntimeError(`${path}: cannot read (${code ?? (err as Error).message})`, { cause: err });
      }
    },
  };
}
