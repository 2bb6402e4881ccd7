/**
 * The proxy URL the containers use: `http://[fe80::1%eth0]:3128`. The `%eth0` zone is the interface inside the
 * container; busybox wget accepts this form but not `%25eth0`, so the raw `%` form is used everywhere.
 */
import type { HostConfig } from '../host-config/schema.js';

/** The bridge address without its prefix length (`fe80::1`). */
export function bridgeAddress(config: HostConfig): string {
  return config.bridge.address.replace(/\/\d+$/, '');
}

/** `http://[fe80::1%eth0]:3128`. */
export function containerProxyUrl(config: HostConfig): string {
  return `http://[${bridgeAddress(config)}%${config.profile.nic}]:${config.proxy.port}`;
}

/** The proxy environment variables, lower-case and upper-case twins. */
export function proxyEnvironment(config: HostConfig): Record<string, string> {
  const url = containerProxyUrl(config);
  const np = config.profile.no_proxy;
  return {
    http_proxy: url,
    https_proxy: url,
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    no_proxy: np,
    NO_PROXY: np,
  };
}
