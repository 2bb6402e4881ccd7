/**
 * What the identity watcher keeps in step on a host, read from host.yaml, so `cuttle-provision identity --watch
 * --config host.yaml` (the packaged cuttle-identity.service) needs no flags: the bridge guard's sets (bridge mode
 * with `firewall.load`: `firewall.table` on `bridge.name`), the identity map (`identity.map_file` in
 * `proxy.settings`) and, with `identity.socket_dir`, the per-container proxy devices (named `socket.device`).
 */
import { loadConfig } from '@cuttle/shared';
import { stringify } from 'yaml';
import type { HostConfig } from '../host-config/schema.js';
import { proxyConfigData } from './proxy-config.js';

/** The watcher's work on this host; everything absent: there is nothing to keep in step. */
export interface WatcherArgs {
  readonly file?: string;
  readonly sockets?: { readonly dir: string; readonly device: string };
  readonly guard?: { readonly table: string; readonly bridge: string };
  /** LXD's socket (`lxd_socket`), when host.yaml names one. */
  readonly lxdSocket?: string;
}

/** The watcher's arguments from a validated host.yaml (whose generated proxy config loads). */
export function watcherArgs(config: HostConfig): WatcherArgs {
  const proxy = loadConfig(stringify(proxyConfigData(config)), config.proxy.config_file);
  const { map_file: file, socket_dir: dir } = proxy.identity;
  return {
    ...(file === null ? {} : { file }),
    ...(dir === null ? {} : { sockets: { dir, device: config.socket.device } }),
    ...(config.mode === 'bridge' && config.firewall.load
      ? { guard: { table: config.firewall.table, bridge: config.bridge.name } }
      : {}),
    ...(config.lxd_socket === undefined ? {} : { lxdSocket: config.lxd_socket }),
  };
}

/** True when the host needs the watcher: a bridge guard to fill, or an identity map to write. */
export function needsWatcher(config: HostConfig): boolean {
  const a = watcherArgs(config);
  return a.guard !== undefined || a.file !== undefined;
}
