/**
 * The hardened systemd unit running the proxy: a dynamic unprivileged user, absolute paths to a supported Node and
 * the built CLI, started once the bridge device exists (and stopped with it), the firewall table loaded first
 * (privileged `+` step), and reload through `cuttle validate` so a bad config never reaches the daemon.
 * Kept below 2.0 ("OK") by `systemd-analyze security --offline=yes`; V8's JIT needs writable+executable memory,
 * so MemoryDenyWriteExecute stays off. Socket mode adds a directory the unit owns for the socket
 * (`RuntimeDirectory=`, created for the dynamic user at start and removed at stop, so no stale socket survives);
 * without a bridge the unit neither binds to its device nor loads the table.
 */
import { dirname } from 'node:path';
import { type HostConfig, usesBridge, usesSocket } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';

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

/** The unit file's text. */
export function renderSystemdUnit(config: HostConfig): string {
  const bridge = usesBridge(config);
  const dev = deviceUnit(config.bridge.name);
  const cli = `${config.proxy.node} ${config.proxy.cli}`;
  const cfg = config.proxy.config_file;
  const loadTable =
    bridge && config.firewall.load ? `ExecStartPre=+${NFT_PATH} -f ${config.firewall.file}\n` : '';
  const what = [
    ...(bridge ? [`the LXD bridge ${config.bridge.name}`] : []),
    ...(usesSocket(config) ? [`LXD proxy devices on ${config.socket.path}`] : []),
  ].join(' and ');
  const deps = bridge ? `After=${dev} network.target\nBindsTo=${dev}\n` : 'After=network.target\n';
  return `${MANAGED_HEADER('#')}[Unit]
Description=cuttle egress HTTP proxy for ${what}
${deps}
[Service]
Type=exec
${loadTable}ExecStart=${cli} run --config ${cfg}
ExecReload=${cli} validate --config ${cfg}
ExecReload=${KILL_PATH} -HUP $MAINPID
Restart=on-failure
RestartSec=2s
DynamicUser=yes
${socketDirectoryLines(config)}CapabilityBoundingSet=
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
