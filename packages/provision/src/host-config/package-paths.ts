/**
 * Where the Debian package (packaging/, `pnpm package deb`) installs cuttle. host.yaml's defaults point here, and the
 * packaged systemd unit runs these files; a checkout sets `proxy.node`/`proxy.cli` to its own.
 */

/** The Node runtime the package ships (pinned in packaging/node-runtime.json). */
export const PACKAGE_NODE = '/usr/lib/cuttle/node';
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
