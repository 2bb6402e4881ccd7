/**
 * The proxy URL the containers use. Bridge mode: `http://[fe80::1%eth0]:3128`; the `%eth0` zone is the interface
 * inside the container, and busybox wget accepts this form but not `%25eth0`, so the raw `%` form is used
 * everywhere. Socket mode: `http://127.0.0.1:3128`, the LXD proxy device listening inside the container, which
 * every client accepts (GNU wget and Node's fetch refuse a zoned address).
 */
import type { HostConfig, ProfileMode } from '../host-config/schema.js';

/** The bridge address without its prefix length (`fe80::1`). */
export function bridgeAddress(config: HostConfig): string {
  return config.bridge.address.replace(/\/\d+$/, '');
}

/** Where the proxy device listens inside a socket-mode container: `127.0.0.1:3128`. */
export function socketListenAddress(config: HostConfig): string {
  return `127.0.0.1:${config.socket.port}`;
}

/** `http://[fe80::1%eth0]:3128` (bridge) or `http://127.0.0.1:3128` (socket). */
export function containerProxyUrl(config: HostConfig, mode: ProfileMode = config.mode): string {
  if (mode === 'socket') return `http://${socketListenAddress(config)}`;
  return `http://[${bridgeAddress(config)}%${config.profile.nic}]:${config.proxy.port}`;
}

/** The proxy environment variables, lower-case and upper-case twins. */
export function proxyEnvironment(
  config: HostConfig,
  mode: ProfileMode = config.mode,
): Record<string, string> {
  const url = containerProxyUrl(config, mode);
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
