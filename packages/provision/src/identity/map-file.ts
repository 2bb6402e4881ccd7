/**
 * Writes the identity map the proxy follows: aside (`FILE.tmp`) and renamed over, so the proxy never reads half a
 * file, and only when the content changed, so an event storm does not make the proxy reload for nothing.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IdentityRecord } from './collect.js';

/** The file's text for `records` (version 1, one instance per line for readable diffs). */
export function renderIdentityMap(records: readonly IdentityRecord[]): string {
  const lines = records.map((r) => `    ${JSON.stringify(r)}`);
  return `{\n  "version": 1,\n  "instances": [${lines.length === 0 ? '' : `\n${lines.join(',\n')}\n  `}]\n}\n`;
}

/** Writes the map if it differs from what `file` holds; returns whether it wrote. */
export function writeIdentityMap(file: string, records: readonly IdentityRecord[]): boolean {
  const text = renderIdentityMap(records);
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
