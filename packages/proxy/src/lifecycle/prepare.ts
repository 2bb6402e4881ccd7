/**
 * prepare(config): everything a loaded config needs on the request path, built once, before it serves anything.
 * A reload prepares a new one and swaps it whole; nothing on a request path reads a file or parses a config value.
 *
 *   config + files read at load --> policy (compiled once: the whole decision)
 *                                   parent proxy (`upstream`, parsed once)
 *                                   CA bundle (system CAs + `tls.ca_file`), handed to the origin pool per request
 *
 * The origin pool itself (forward/origin-client.ts) belongs to the running instance (ProxyInstance.origins): its
 * connections are keyed by checked address, port and TLS name, so it serves every prepared config.
 */
import { rootCertificates } from 'node:tls';
import { type Config, compilePolicy, type Policy } from '@cuttle/shared';
import type { ParentProxy } from '../core/parent-proxy.js';
import { parentProxyOf } from '../upstream/parent-proxy.js';
import { type ConfigFiles, NO_FILES } from './load-config-file.js';

/** One config, ready to serve. Frozen. */
export interface PreparedConfig {
  readonly config: Config;
  readonly policy: Policy;
  readonly parent: ParentProxy | null;
  /** The CAs https origins are verified against, or null for the system CAs only. */
  readonly caBundle: readonly string[] | null;
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
    caBundle,
  });
}
