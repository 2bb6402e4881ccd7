/**
 * Writes the identity map the proxy follows: aside (`FILE.tmp`) and renamed over, so the proxy never reads half a
 * file, and only when the content changed, so an event storm does not make the proxy reload for nothing.
 *
 * `identity --watch` keeps it there (IdentityMapKeeper): a usual home for the map is the proxy's own runtime
 * directory (/run/cuttle, systemd's RuntimeDirectory=), which does not exist before the proxy starts (the watcher
 * starts first) and is removed whenever the proxy stops; the keeper waits for the directory and writes the map
 * again within a second of its disappearing, instead of leaving the restarted proxy without identities until the
 * next LXD event or resync.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IdentityRecord } from './collect.js';

/** The file's text for `records` (version 1, one instance per line for readable diffs). */
export function renderIdentityMap(records: readonly IdentityRecord[]): string {
  const lines = records.map((r) => `    ${JSON.stringify(r)}`);
  return `{\n  "version": 1,\n  "instances": [${lines.length === 0 ? '' : `\n${lines.join(',\n')}\n  `}]\n}\n`;
}

/** Writes the map if it differs from what `file` holds; returns whether it wrote. */
export function writeIdentityMap(file: string, records: readonly IdentityRecord[]): boolean {
  return writeMapText(file, renderIdentityMap(records));
}

function writeMapText(file: string, text: string): boolean {
  try {
    if (readFileSync(file, 'utf8') === text) return false;
  } catch {
    // Not there yet (or unreadable): write it.
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
  return true;
}

/** How often the watcher checks that the map is still there, ms. */
export const MAP_CHECK_MS = 1_000;

/**
 * The map file of `identity --watch`: the last map is written when it changes, waited for while its directory does
 * not exist, and written again when the file is removed (`check`, every MAP_CHECK_MS).
 */
export class IdentityMapKeeper {
  readonly file: string;
  readonly #say: (line: string) => void;
  #text: string | null = null;
  #waiting = false;

  constructor(file: string, say: (line: string) => void) {
    this.file = file;
    this.#say = say;
  }

  /**
   * Writes the map of `records` if the file holds something else; returns whether it wrote. A missing directory is
   * not an error: said once, and the map is written by `check` once the directory appears. Throws on any other
   * failure (a directory that exists but cannot be written).
   */
  write(records: readonly IdentityRecord[]): boolean {
    this.#text = renderIdentityMap(records);
    return this.#put();
  }

  /** Writes the last map again if the file is gone (and its directory is there); returns whether it wrote. */
  check(): boolean {
    if (this.#text === null || existsSync(this.file)) return false;
    return this.#put();
  }

  #put(): boolean {
    const dir = dirname(this.file);
    if (!existsSync(dir)) {
      if (!this.#waiting)
        this.#say(`identity map ${this.file}: ${dir} does not exist yet; writing the map once it does`);
      this.#waiting = true;
      return false;
    }
    this.#waiting = false;
    return writeMapText(this.file, this.#text as string);
  }
}
