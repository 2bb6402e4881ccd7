/**
 * The proxy's own config file, generated from host.yaml: listen on the bridge's fe80 address (bridge mode) and/or on
 * `unix:socket.path` (socket mode; the socket's mode from `socket.mode`, owned by the unit's dynamic user, which LXD's
 * forkproxy reaches as root), clients only from link-local (`clients` applies to IP listeners only), the allowlist,
 * then `proxy.settings` merged over.
 * It is checked with the proxy's own loader (shared's loadConfig) before anything is written.
 */
import { loadConfig } from '@cuttle/shared';
import { stringify } from 'yaml';
import { type HostConfig, usesBridge, usesSocket } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';
import { bridgeAddress } from './proxy-url.js';

/** The config as data (before YAML). */
export function proxyConfigData(config: HostConfig): Record<string, unknown> {
  const listen: string[] = [];
  if (usesBridge(config))
    listen.push(`[${bridgeAddress(config)}%${config.bridge.name}]:${config.proxy.port}`);
  if (usesSocket(config)) listen.push(`unix:${config.socket.path}`);
  return {
    listen,
    ...(usesSocket(config) ? { unix_socket: { mode: config.socket.mode } } : {}),
    clients: ['fe80::/10'],
    allow: [...config.proxy.allow],
    ...config.proxy.settings,
  };
}

/** The file's text; throws the proxy loader's ConfigError (naming the generated file) when it would not load. */
export function renderProxyConfig(config: HostConfig): string {
  const text = `${MANAGED_HEADER('#')}${stringify(proxyConfigData(config))}`;
  loadConfig(text, `${config.proxy.config_file} (generated from host.yaml proxy.*)`);
  return text;
}
