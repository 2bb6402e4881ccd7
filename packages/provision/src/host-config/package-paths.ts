/**
 * Where the Debian package (packaging/, `pnpm package deb`) installs cuttle. host.yaml's defaults point here, and the
 * packaged systemd unit runs these files; a checkout sets `proxy.node`/`proxy.cli` to its own.
 */

/** The Node runtime the package ships (pinned in packaging/node-runtime.json). */
export const PACKAGE_NODE = '/usr/lib/cuttle/node';
/**
 * The Node flags the proxy is launched with, everywhere it is launched: the unit's `ExecStart=`, the manual start,
 * the npm tarball's `cuttle` bin, `pnpm cuttle` and the bench. V8's young generation otherwise starts at 1 MiB per
 * semi-space, grows to 16 under load and shrinks again while the proxy idles, so the first second of a burst after
 * a quiet spell scavenges ~70 times (Node 20, 7k req/s) and the tail latency follows (bench/README.md, 2026-12-02
 * 11:36-12:00: p99 0.42-0.53x on Node 20 and 0.60-0.67x on Node 24 with these flags, side by side). Start-up flags:
 * V8 sizes the heap before any script runs, and Node refuses `--min-semi-space-size` in NODE_OPTIONS.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16', '--max-semi-space-size=32'];
/** The bundled `cuttle` CLI. */
export const PACKAGE_CLI = '/usr/lib/cuttle/cuttle.mjs';
/** The bundled `cuttle-provision` CLI. */
export const PACKAGE_PROVISION_CLI = '/usr/lib/cuttle/cuttle-provision.mjs';
/** The packaged unit's config path (provisioning writes it; the unit does not start without it). */
export const PACKAGE_CONFIG_FILE = '/etc/cuttle/cuttle.yaml';
/** Where the package installs its unit (Debian 12 still ships units under /lib). */
export const PACKAGE_UNIT_DIR = '/lib/systemd/system';
/** The packaged unit's name. */
export const PACKAGE_UNIT_NAME = 'cuttle.service';
/** The drop-in's file name inside `UNIT.d/`. */
export const UNIT_DROP_IN_NAME = 'cuttle-provision.conf';
/** The packaged unit running the identity watcher (`cuttle-provision identity --watch --config HOST`). */
export const PACKAGE_IDENTITY_UNIT_NAME = 'cuttle-identity.service';
/** The host.yaml the packaged watcher unit reads (`cuttle-provision init` writes it there). */
export const PACKAGE_HOST_CONFIG_FILE = '/etc/cuttle/host.yaml';
