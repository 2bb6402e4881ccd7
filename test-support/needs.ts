import { execFileSync } from 'node:child_process';

/**
 * Why a test cannot run here, or null when it can. Outside CI a test with unmet needs is skipped with that
 * message; with CI=true it fails instead, so a missing install step in .ci/run cannot hide behind a skip.
 */
export function missingNeeds(needs: { root?: boolean; commands?: string[] }): string | null {
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  for (const cmd of needs.commands ?? []) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `needs the command ${cmd} (scripts/install-deps.sh installs it, as root)`;
    }
  }
  return null;
}

export const IN_CI = process.env.CI === 'true';

/**
 * Use as `describe.skipIf(skipUnless({...}))(...)`. Returns true (skip) outside CI when needs are unmet, and throws
 * in CI so the run fails loudly.
 */
export function skipUnless(needs: { root?: boolean; commands?: string[] }): boolean {
  const why = missingNeeds(needs);
  if (why === null) return false;
  if (IN_CI) throw new Error(`CI=true and a test cannot run: ${why}`);
  console.warn(`skipped: ${why}`);
  return true;
}
