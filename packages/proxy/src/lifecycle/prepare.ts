/**
 * prepare(config): everything a loaded config needs on the request path, built once, before it serves anything.
 * A reload prepares a new one and swaps it whole; nothing on a request path reads a file or parses a config value.
 *
 *   config + files read at load --> policy (compiled once: the whole decision)
 *                                   parent proxy (`upstream`, parsed once)
 *                                   origin pool factory (TLS: system CAs + `tls.ca_file`, read at load)
 *
 * The pools themselves belong to the running instance (ProxyInstance.origins): the context built for this config
 * opens one from `openOrigins`, and a reload that replaces the context retires it (idle connections close at once,
 * busy ones when their request ends), so no connection verified under one config's CAs serves another's request.
 */
import { rootCertificates } from 'node:tls';
import { type Config, compilePolicy, type Policy } from '@cuttle/shared';
import type { OriginPoolFactory, OriginStats } from '../core/origin-pool.js';
import type { ParentProxy } from '../core/parent-proxy.js';
import { OriginClient } from '../forward/origin-client.js';
import { parentProxyOf } from '../upstream/parent-proxy.js';
import { type ConfigFiles, NO_FILES } from './load-config-file.js';

/** One config, ready to serve. Frozen. */
export interface PreparedConfig {
  readonly config: Config;
  readonly policy: Policy;
  readonly parent: ParentProxy | null;
  /** Opens this config's origin pool (https origins verified against the system CAs plus `tls.ca_file`). */
  readonly openOrigins: OriginPoolFactory;
}

/**
 * Prepares a validated config and the files it named (read by loadConfigFile). Throws only on a programming error:
 * a config that loaded has a valid `upstream` and a readable `tls.ca_file`.
 */
export function prepare(config: Config, files: ConfigFiles = NO_FILES): PreparedConfig {
  if (config.tls.ca_file !== null && files.caPem === null)
    throw new Error(`tls.ca_file ${config.tls.ca_file} was not read at load`);
  const caBundle = files.caPem === null ? null : Object.freeze([...rootCertificates, files.caPem]);
  return Object.freeze({
    config,
    policy: compilePolicy(config),
    parent: parentProxyOf(config),
    openOrigins: (stats: OriginStats) => new OriginClient({ ca: caBundle, stats }),
  });
}
