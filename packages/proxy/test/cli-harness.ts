/** Runs the compiled `cuttle` CLI (build first: `pnpm build`) and captures what it prints and its exit code. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CUTTLE_MAIN } from '@cuttle/test-support';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `cuttle ...args`, run from the repository root. */
export function cuttle(...args: string[]): CliResult {
  if (!existsSync(CUTTLE_MAIN)) throw new Error(`${CUTTLE_MAIN} is missing: run pnpm build first`);
  const r = spawnSync(process.execPath, [CUTTLE_MAIN, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
