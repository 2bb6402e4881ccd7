/**
 * Where the Debian package (packaging/, `pnpm package deb`) installs cuttle. host.yaml's defaults point here, and the
 * packaged systemd unit runs these files; a checkout sets `proxy.node`/`proxy.cli` to its own.
 */

/** The Node runtime the package ships (pinned in packaging/node-runtime.json). */
export const PACKAGE_NODE = '/usr/lib/cuttle/node';
/**
 * The Node flags the proxy is launched with, everywhere it is launched: the unit's `ExecStart=`, the manual start,
 * the npm tarball's `cuttle` bin, `pnpm cuttle` and the bench. Start-up flags: V8 sizes its heap and GC threads
 * before any script runs, and Node refuses `--min-semi-space-size` in NODE_OPTIONS.
 * - A young generation of 16-32 MiB per semi-space: V8's own starts at 1 MiB, grows to 16 under load and shrinks
 *   while the proxy idles, so the first second of a burst after a quiet spell scavenged ~70 times (Node 20, 7k
 *   req/s). Side by side (bench/README.md, 2026-12-02 14:07): p99 3.5 against 5.2 ms on Node 20, 4.6 against 12.9
 *   on Node 24, CPU per request 0.94x and 0.98x; idle RSS +19-21 MiB, per idle tunnel 15.4 against 14.8 KiB.
 * - `--single-threaded-gc`: no GC helper threads. Confined to one CPU they preempt the main thread they should
 *   relieve (the proxy waited for its CPU 7-8 ms/s with the flag against 15 without); a proxy's heap is small, so
 *   its scavenges gain little from helpers on a multi-core host. Side by side (14:27): p99 3.7 against 6.2 ms on
 *   Node 20, 3.2 against 3.6 on Node 24, CPU per request unchanged within the noise (1.04x, 1.01x).
 */
export const PROXY_NODE_FLAGS: readonly string[] = [
  '--min-semi-space-size=16',
  '--max-semi-space-size=32',
  '--single-threaded-gc',
];
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
