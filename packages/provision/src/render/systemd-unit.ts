/**
 * The hardened systemd unit running the proxy, in two parts with one source each. The package ships the unit
 * (`renderPackageUnit`: a dynamic unprivileged user, the package's Node and bundled CLI, reload through
 * `cuttle validate` so a bad config never reaches the daemon, and no start before provisioning wrote the config);
 * cuttle-provision writes only a drop-in with the host's values (`renderUnitDropIn`: started once the bridge device
 * exists and stopped with it, the firewall table loaded first by a privileged `+` step, the socket directory, and
 * other paths for Node, the CLI or the config when host.yaml names them).
 * Kept below 2.0 ("OK") by `systemd-analyze security --offline=yes`; V8's JIT needs writable+executable memory,
 * so MemoryDenyWriteExecute stays off. Socket mode adds a directory the unit owns for the socket
 * (`RuntimeDirectory=`, created for the dynamic user at start and removed at stop, so no stale socket survives).
 */
import { dirname, join } from 'node:path';
import {
  PACKAGE_CLI,
  PACKAGE_CONFIG_FILE,
  PACKAGE_HOST_CONFIG_FILE,
  PACKAGE_IDENTITY_UNIT_NAME,
  PACKAGE_NODE,
  PACKAGE_PROVISION_CLI,
  PACKAGE_UNIT_NAME,
  PROXY_NODE_FLAGS,
  UNIT_DROP_IN_NAME,
} from '../host-config/package-paths.js';
import { type HostConfig, usesBridge, usesSocket } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';
import { needsWatcher } from './watcher-args.js';

/** Where `nft` is on Debian. */
export const NFT_PATH = '/usr/sbin/nft';
/** Where `kill` is on a merged-/usr Debian. */
export const KILL_PATH = '/usr/bin/kill';

/** systemd's device unit name for network interface `iface` (systemd-escape for the usual names). */
export function deviceUnit(iface: string): string {
  const escaped = iface.replace(
    /[^A-Za-z0-9:_.]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `sys-subsystem-net-devices-${escaped}.device`;
}

/**
 * The socket directory's lines: `RuntimeDirectory=DIR` for a socket under /run/DIR/, else `ReadWritePaths=` its
 * directory (ProtectSystem=strict makes everything else read-only).
 */
export function socketDirectoryLines(config: HostConfig): string {
  if (!usesSocket(config)) return '';
  const dir = dirname(config.socket.path);
  if (dir.startsWith('/run/') && dir.length > '/run/'.length)
    return `RuntimeDirectory=${dir.slice('/run/'.length)}\nRuntimeDirectoryMode=0755\n`;
  return `ReadWritePaths=${dir}\n`;
}

/** The drop-in's path: `unit.dir/unit.name.d/cuttle-provision.conf`. */
export function unitDropInPath(config: HostConfig): string {
  return join(config.unit.dir, `${config.unit.name}.d`, UNIT_DROP_IN_NAME);
}

/** The command that runs the proxy: Node, its flags, the CLI, `run --config CFG` (the unit's and the manual start's). */
export function proxyRunCommand(node: string, flags: readonly string[], cli: string, cfg: string): string {
  return `${[node, ...flags, cli].join(' ')} run --config ${cfg}`;
}

function execLines(node: string, flags: readonly string[], cli: string, cfg: string): string {
  return `ExecStart=${proxyRunCommand(node, flags, cli, cfg)}
ExecReload=${node} ${cli} validate --config ${cfg}
ExecReload=${KILL_PATH} -HUP $MAINPID
`;
}

/**
 * The unit the package installs as /lib/systemd/system/cuttle.service. It is installed disabled and does not start
 * until provisioning has written /etc/cuttle/cuttle.yaml (`ConditionPathExists=`), so installing opens no listener.
 * `LogsDirectory=` gives the dynamic user /var/log/cuttle for `log.file` (logrotate's file signals SIGUSR1).
 */
export function renderPackageUnit(): string {
  return `# Installed by the cuttle package. cuttle-provision adds the host's values (bridge device, firewall table,
# socket directory) in cuttle.service.d/${UNIT_DROP_IN_NAME}; local changes: systemctl edit cuttle.
[Unit]
Description=cuttle egress HTTP proxy
After=network.target
ConditionPathExists=${PACKAGE_CONFIG_FILE}

[Service]
Type=exec
${execLines(PACKAGE_NODE, PROXY_NODE_FLAGS, PACKAGE_CLI, PACKAGE_CONFIG_FILE)}Restart=on-failure
RestartSec=2s
DynamicUser=yes
LogsDirectory=cuttle
LogsDirectoryMode=0750
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateMounts=yes
ProtectSystem=strict
ProtectHome=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
UMask=0077
DevicePolicy=closed
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The unit the package installs as /lib/systemd/system/cuttle-identity.service: the identity watcher
 * (`cuttle-provision identity --watch --config /etc/cuttle/host.yaml`), which keeps the bridge guard's sets, the
 * identity map and the per-container proxy devices in step with LXD between applies. Installed disabled; `apply`
 * enables and (re)starts it where host.yaml has a guard or an identity map, and the proxy's drop-in `Wants=` it.
 * It runs as root: LXD's socket is root's, and `nft` needs CAP_NET_ADMIN (the only capability besides
 * CAP_DAC_OVERRIDE, for a map directory another user owns, such as the proxy's /run/cuttle). It reaches LXD over
 * AF_UNIX and the kernel over AF_NETLINK only; ProtectSystem=full, not strict, because the map's directory is
 * host.yaml's choice.
 */
export function renderIdentityUnit(): string {
  return `# Installed by the cuttle package: keeps cuttle's bridge guard, identity map and per-container sockets in step
# with LXD. cuttle-provision apply enables it; local changes: systemctl edit cuttle-identity.
[Unit]
Description=cuttle identity watcher (bridge guard sets, identity map, per-container proxy devices)
After=network.target
Before=${PACKAGE_UNIT_NAME}
ConditionPathExists=${PACKAGE_HOST_CONFIG_FILE}

[Service]
Type=exec
ExecStart=${PACKAGE_NODE} ${PACKAGE_PROVISION_CLI} identity --watch --config ${PACKAGE_HOST_CONFIG_FILE}
Restart=on-failure
RestartSec=5s
CapabilityBoundingSet=CAP_NET_ADMIN CAP_DAC_OVERRIDE
AmbientCapabilities=
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectSystem=full
ProtectHome=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
UMask=0022
DevicePolicy=closed
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@resources @mount @swap @reboot @raw-io @module @obsolete @cpu-emulation @debug

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The drop-in's text: the host's values over the packaged unit. Node, CLI and config path are repeated only when
 * host.yaml names others than the package's, or other `proxy.node_flags` (an empty `ExecStart=` first resets the
 * packaged command).
 */
export function renderUnitDropIn(config: HostConfig): string {
  const bridge = usesBridge(config);
  const dev = deviceUnit(config.bridge.name);
  const { node, node_flags: flags, cli, config_file: cfg } = config.proxy;
  const what = [
    ...(bridge ? [`the LXD bridge ${config.bridge.name}`] : []),
    ...(usesSocket(config) ? [`LXD proxy devices on ${config.socket.path}`] : []),
  ].join(' and ');
  const deps = `${bridge ? `After=${dev}\nBindsTo=${dev}\n` : ''}${
    needsWatcher(config) ? `Wants=${PACKAGE_IDENTITY_UNIT_NAME}\n` : ''
  }`;
  const condition = cfg === PACKAGE_CONFIG_FILE ? '' : `ConditionPathExists=\nConditionPathExists=${cfg}\n`;
  const loadTable =
    bridge && config.firewall.load ? `ExecStartPre=+${NFT_PATH} -f ${config.firewall.file}\n` : '';
  const exec =
    node === PACKAGE_NODE &&
    flags.join(' ') === PROXY_NODE_FLAGS.join(' ') &&
    cli === PACKAGE_CLI &&
    cfg === PACKAGE_CONFIG_FILE
      ? ''
      : `ExecStart=\nExecReload=\n${execLines(node, flags, cli, cfg)}`;
  return `${MANAGED_HEADER('#')}[Unit]
Description=cuttle egress HTTP proxy for ${what}
${deps}${condition}
[Service]
${loadTable}${exec}${socketDirectoryLines(config)}`;
}
