/**
 * Installs the Debian packages the e2e bench drives (nginx, squid, tinyproxy, wrk) when their commands are
 * missing. A policy-rc.d answering 101 keeps the packages' postinst from starting system services that would hold
 * ports; the previous policy-rc.d, if any, is put back.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';

/** Debian package -> the command that proves it is there. */
export const E2E_PACKAGES: Readonly<Record<string, string>> = {
  nginx: 'nginx',
  squid: 'squid',
  tinyproxy: 'tinyproxy',
  wrk: 'wrk',
};

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const POLICY = '/usr/sbin/policy-rc.d';

/** Installs what is missing (as root); throws with the reason when it cannot. */
export function ensurePackages(log: (line: string) => void): void {
  const missing = Object.entries(E2E_PACKAGES)
    .filter(([, cmd]) => !hasCommand(cmd))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing Debian packages ${missing.join(' ')}; run as root to let the bench install them`,
    );
  }
  log(`installing ${missing.join(' ')} from Debian (services kept stopped)`);
  const backup = existsSync(POLICY) ? `${POLICY}.cuttle-bench` : null;
  if (backup) copyFileSync(POLICY, backup);
  writeFileSync(
    POLICY,
    '#!/bin/sh\n# written by the cuttle bench for the duration of an install\nexit 101\n',
    {
      mode: 0o755,
    },
  );
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['-q', 'update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['-q', '-y', '--no-install-recommends', 'install', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  } finally {
    if (backup) {
      copyFileSync(backup, POLICY);
      rmSync(backup);
    } else rmSync(POLICY, { force: true });
  }
}
