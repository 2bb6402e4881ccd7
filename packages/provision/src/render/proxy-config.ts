/**
 * The proxy's own config file, generated from host.yaml: listen on the bridge (by interface, so the daemon follows
 * the bridge when it is recreated), clients only from link-local, the allowlist, then `proxy.settings` merged over.
 * It is checked with the proxy's own loader (shared's loadConfig) before anything is written.
 */
import { loadConfig } from '@cuttle/shared';
import { stringify } from 'yaml';
import type { HostConfig } from '../host-config/schema.js';
import { MANAGED_HEADER } from './managed-header.js';
import { bridgeAddress } from './proxy-url.js';

/** The config as data (before YAML). */
export function proxyConfigData(config: HostConfig): Record<string, unknown> {
  return {
    listen: [`[${bridgeAddress(config)}%${config.bridge.name}]:${config.proxy.port}`],
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
