/**
 * Cloud-init user-data for the profile. `environment.*` reaches only the container's init and `lxc exec`, not its
 * services (apt-daily, unattended-upgrades), so the proxy also goes into /etc/environment and apt's configuration.
 * Validated with `cloud-init schema` in the tests.
 */
import { stringify } from 'yaml';
import type { HostConfig, ProfileMode } from '../host-config/schema.js';
import { containerProxyUrl, proxyEnvironment } from './proxy-url.js';

/** Where the apt proxy configuration goes inside the container. */
export const APT_PROXY_FILE = '/etc/apt/apt.conf.d/90cuttle-proxy';

/** `#cloud-config` user-data writing the proxy settings of a `mode` profile into the container's files. */
export function renderCloudInit(config: HostConfig, mode: ProfileMode = config.mode): string {
  const url = containerProxyUrl(config, mode);
  const env = proxyEnvironment(config, mode);
  const environment = `${Object.entries(env)
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n')}\n`;
  const apt = `Acquire::http::Proxy "${url}";\nAcquire::https::Proxy "${url}";\n`;
  const doc = {
    write_files: [
      { path: '/etc/environment', append: true, content: environment },
      { path: APT_PROXY_FILE, permissions: '0644', content: apt },
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
