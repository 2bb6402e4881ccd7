/**
 * What the unit would do, as commands for a host where systemd is not PID 1 (a container, a chroot, a minimal
 * VM), or for files written under `--root`: load the table (bridge mode; after a reboot it is gone), make the
 * socket directory (socket mode; systemd's RuntimeDirectory= does it otherwise), then run the proxy in the
 * foreground. The proxy then runs as the user who starts it, without the unit's sandbox: run it under a
 * supervisor as an unprivileged user that can read the config (and own the socket directory).
 */
import { dirname, join } from 'node:path';
import { PACKAGE_HOST_CONFIG_FILE } from '../host-config/package-paths.js';
import { type HostConfig, usesBridge, usesSocket } from '../host-config/schema.js';
import { NFT_PATH, proxyRunCommand } from './systemd-unit.js';
import { needsWatcher } from './watcher-args.js';

/**
 * The commands, in order; the last one runs the proxy (paths under `root`). Where the host has a bridge guard or
 * an identity map, the identity watcher (cuttle-identity.service's command, reading `hostFile`) runs in the
 * background before the proxy: without it a container started later stays cut off by the guard.
 */
export function manualStartCommands(
  config: HostConfig,
  root = '/',
  hostFile = PACKAGE_HOST_CONFIG_FILE,
): string[] {
  const out: string[] = [];
  if (usesBridge(config) && config.firewall.load)
    out.push(`${NFT_PATH} -f ${join(root, config.firewall.file)}`);
  if (usesSocket(config)) out.push(`mkdir -p ${dirname(config.socket.path)}`);
  if (needsWatcher(config)) out.push(`cuttle-provision identity --watch --config ${hostFile} &`);
  const { node, node_flags: flags, cli, config_file: cfg } = config.proxy;
  out.push(proxyRunCommand(node, flags, cli, join(root, cfg)));
  return out;
}
