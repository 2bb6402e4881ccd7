/**
 * Keeps the identity map current: loads `identity.map_file` at start and again whenever the file changes (stat
 * polling: the watcher replaces the file by rename, which fs.watch on the file would miss). A missing or bad
 * file keeps the last good map and is reported once per distinct problem.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { EMPTY_IDENTITY, type IdentityMap, parseIdentityMap } from './identity-map.js';

/** How often the map file's stat is checked, ms. */
const POLL_MS = 500;

/** A map file being followed. */
export interface IdentitySource {
  readonly file: string;
  current(): IdentityMap;
  close(): void;
}

/** Starts following `file`; `onLoad` runs after every good load (per-instance sockets follow the map). */
export function followIdentityMap(
  file: string,
  say: (line: string) => void,
  onLoad: (map: IdentityMap) => void = () => {},
): IdentitySource {
  let map: IdentityMap = EMPTY_IDENTITY;
  let lastProblem = '';
  const load = (): void => {
    try {
      map = parseIdentityMap(readFileSync(file, 'utf8'), file);
      lastProblem = '';
      say(
        `identity map ${file}: ${map.entries.length} instance(s)${map.sockets.length === 0 ? '' : `, ${map.sockets.length} socket(s)`}`,
      );
      onLoad(map);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' ? `identity map ${file}: not there yet` : (err as Error).message;
      if (problem !== lastProblem) say(`${problem}; keeping the last good map`);
      lastProblem = problem;
    }
  };
  load();
  const onChange = (): void => load();
  watchFile(file, { interval: POLL_MS, persistent: false }, onChange);
  return {
    file,
    current: () => map,
    close: () => unwatchFile(file, onChange),
  };
}
