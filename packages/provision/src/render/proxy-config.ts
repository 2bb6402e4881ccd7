/**
 * The proxy's own config file, generated from host.yaml: listen on the bridge's fe80 address (bridge mode) and/or on
 * `unix:socket.path` (socket mode; the socket's mode from `socket.mode`, owned by the unit's dynamic user, which LXD's
 * forkproxy reaches as root), clients only from link-local (`clients` applies to IP listeners only), the allowlist,
 * then `proxy.settings` merged over.
 * It is checked with the proxy's own loader (shared's loadConfig) before anything is written.
 */
import { ConfigError, loadConfig } from '@cuttle/shared';
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

/** One problem of the generated proxy config, at its key path in that config. */
export interface GeneratedIssue {
  readonly path: readonly (string | number)[];
  /** The key as the proxy's loader names it (`dns.hosts`, `listen[0]`). */
  readonly key: string;
  readonly message: string;
}

/** `a.b[0]["x.y"]` -> ['a', 'b', 0, 'x.y'] (the form shared's formatKeyPath writes). */
export function parseKeyPath(key: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([A-Za-z0-9_-]+)/g;
  for (const m of key.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/** Every problem the proxy's own loader finds in the config generated from `config` (none: []). */
export function generatedConfigIssues(config: HostConfig): GeneratedIssue[] {
  const text = `${MANAGED_HEADER('#')}${stringify(proxyConfigData(config))}`;
  try {
    loadConfig(text, config.proxy.config_file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => ({ path: parseKeyPath(i.key), key: i.key, message: i.message }));
  }
}

/**
 * The host.yaml key that produced generated key `path`: a key given in `proxy.settings` is that key; `listen`
 * comes from the bridge's name (the zone) or `socket.path`, `allow` from `proxy.allow`, `unix_socket` from
 * `socket.mode`; anything else is a default that `proxy.settings` as a whole must agree with.
 */
export function hostKeyFor(config: HostConfig, path: readonly (string | number)[]): (string | number)[] {
  const [top, ...rest] = path;
  if (typeof top === 'string' && Object.hasOwn(config.proxy.settings, top))
    return ['proxy', 'settings', ...path];
  if (top === 'listen') {
    const bridgeFirst = usesBridge(config);
    const socketAt = bridgeFirst ? 1 : 0;
    if (rest[0] === socketAt && usesSocket(config)) return ['socket', 'path'];
    return bridgeFirst ? ['bridge', 'name'] : ['socket', 'path'];
  }
  if (top === 'allow') return ['proxy', 'allow', ...rest];
  if (top === 'unix_socket') return ['socket', 'mode'];
  return usesBridge(config) && top === 'clients' ? ['bridge', 'address'] : ['proxy', 'settings'];
}

/** The generated config's problems as host.yaml checks (for loadHostConfig's `check`). */
export function generatedConfigChecks(config: HostConfig): { path: (string | number)[]; message: string }[] {
  return generatedConfigIssues(config).map((g) => ({
    path: hostKeyFor(config, g.path),
    message: `${g.message}${g.key === '' ? '' : ` (generated ${config.proxy.config_file}: ${g.key})`}`,
  }));
}
