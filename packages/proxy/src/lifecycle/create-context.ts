/** Builds the ProxyContext for one prepared config: its policy, parent and origin client, resolver, identity, sink. */
import type { ClientInfo } from '../core/client.js';
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { OriginPools } from '../core/origin-pool.js';
import { SelfEndpoints } from '../core/self-endpoints.js';
import { TunnelRegistry } from '../core/tunnel-registry.js';
import { createResolver } from '../dns/resolver.js';
import { EMPTY_IDENTITY, type IdentityMap, identify } from '../identity/index.js';
import type { PreparedConfig } from './prepare.js';

/** What a new running instance owns: no origin pools, no tunnels, no bound endpoints yet. */
export function createProxyInstance(): ProxyInstance {
  return { origins: new OriginPools(), tunnels: new TunnelRegistry(), endpoints: new SelfEndpoints() };
}

/**
 * A frozen context; a reload builds a new one and swaps it whole (and retires the old one's origin pool). `instance`
 * is the same across reloads; `identity` gives the identity map of the moment (none by default). Opens the
 * config's origin pool in `instance`: build a context only to serve it.
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
    origins: instance.origins.open(prepared.openOrigins),
    resolve,
    resolveNow: resolve.now,
    identify: (client: ClientInfo) => identify(identity(), client),
    record,
    instance,
  });
}
