/**
 * Facts about the host that decide what is written: how LXD was installed (a deb from backports needs the APT pin,
 * a snap none) and the distribution's codename. Read once per run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** How LXD got onto this host. */
export type LxdInstall = 'snap' | 'deb-backports' | 'deb' | 'unknown';

export interface HostFacts {
  readonly lxdInstall: LxdInstall;
  readonly osRelease: string;
}

/** The installed version of deb package `name`, or null. */
function debVersion(name: string): string | null {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const out = execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const m = /^install ok installed (\S+)$/.exec(out.trim());
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Detects the LXD installation; `socketPath` is the socket in use (a snap daemon lives under /var/snap). */
export function detectHostFacts(socketPath: string): HostFacts {
  let lxdInstall: LxdInstall = 'unknown';
  const version = debVersion('lxd');
  if (socketPath.startsWith('/var/snap/') || (version === null && existsSync('/snap/bin/lxd')))
    lxdInstall = 'snap';
  else if (version !== null) lxdInstall = /~bpo/.test(version) ? 'deb-backports' : 'deb';
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {}
  return { lxdInstall, osRelease };
}
