/** Builds the ProxyContext for one prepared config: its policy, parent and origin client, resolver, identity, sink. */
import type { ClientInfo } from '../core/client.js';
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { SelfEndpoints } from '../core/self-endpoints.js';
import { TunnelRegistry } from '../core/tunnel-registry.js';
import { createResolver } from '../dns/resolver.js';
import { OriginClient } from '../forward/origin-client.js';
import { EMPTY_IDENTITY, type IdentityMap, identify } from '../identity/index.js';
import type { PreparedConfig } from './prepare.js';

/** What a new running instance owns: an empty origin pool, no tunnels, no bound endpoints yet. */
export function createProxyInstance(): ProxyInstance {
  return { origins: new OriginClient(), tunnels: new TunnelRegistry(), endpoints: new SelfEndpoints() };
}

/**
 * A frozen context; a reload builds a new one and swaps it whole. `instance` is the same across reloads; `identity`
 * gives the identity map of the moment (none by default).
 */
export function createContext(
  prepared: PreparedConfig,
  record: (entry: AccessRecord) => void,
  instance: ProxyInstance,
  identity: () => IdentityMap = () => EMPTY_IDENTITY,
): ProxyContext {
  const { config } = prepared;
  const resolve = createResolver(config);
  return Object.freeze({
    config,
    policy: prepared.policy,
    parent: prepared.parent,
    caBundle: prepared.caBundle,
    resolve,
    resolveNow: resolve.now,
    identify: (client: ClientInfo) => identify(identity(), client),
    record,
    instance,
  });
}
