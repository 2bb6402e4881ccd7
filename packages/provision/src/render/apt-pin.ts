/**
 * The APT pin taking `lxd*` from backports at priority 500, for hosts whose LXD is a deb from backports (Debian's
 * backports are NotAutomatic at priority 100, so upgrades would otherwise not follow them).
 */
import type { HostConfig } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';

/** The pin file's text for `suite` (e.g. `bookworm-backports`). */
export function renderAptPin(suite: string): string {
  return `${MANAGED_HEADER('#')}Package: lxd*\nPin: release n=${suite}\nPin-Priority: 500\n`;
}

/** `CODENAME-backports` from the os-release text, or null when it names no codename. */
export function backportsSuite(config: HostConfig, osRelease: string): string | null {
  if (config.apt_pin.suite !== undefined) return config.apt_pin.suite;
  const m = /^VERSION_CODENAME=["']?([a-z]+)["']?$/m.exec(osRelease);
  return m?.[1] === undefined ? null : `${m[1]}-backports`;
}
