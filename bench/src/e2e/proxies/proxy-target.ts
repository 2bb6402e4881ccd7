/** What every proxy under test (and the direct baseline) looks like to the bench. */
import type { Daemon } from '../system/processes.js';

/** The loopback world the proxies are configured for. */
export interface World {
  /** Allowed name, mapped to 127.0.0.1 by each proxy's static hosts. */
  readonly allowedHost: string;
  /** A name on no allowlist: 403 from every proxy. */
  readonly deniedHost: string;
  readonly originPort: number;
  readonly tlsPort: number;
  readonly tcpPort: number;
  /** A file mapping `allowedHost` to 127.0.0.1 (hosts(5) format). */
  readonly hostsFile: string;
}

/** A started proxy. */
export interface ProxyTarget {
  readonly name: string;
  readonly port: number;
  readonly daemon: Daemon;
  /** What is worth knowing when reading its numbers (logging, config differences). */
  readonly note: string;
}

/** Runs `argv` in a private mount namespace where /etc/hosts is `hostsFile` (for proxies with no static hosts). */
export function withHostsFile(
  hostsFile: string,
  argv: readonly string[],
): { command: string; args: string[] } {
  return {
    command: 'unshare',
    args: [
      '-m',
      '--',
      'sh',
      '-c',
      'mount --bind "$1" /etc/hosts && shift && exec "$@"',
      'sh',
      hostsFile,
      ...argv,
    ],
  };
}
