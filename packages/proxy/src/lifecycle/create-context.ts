/** Builds the ProxyContext for one validated config: compiled policy, checked resolver, identity, access sink. */
import { type Config, compilePolicy } from '@cuttle/shared';
import type { ClientInfo } from '../core/client.js';
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { SelfEndpoints } from '../core/self-endpoints.js';
import { TunnelRegistry } from '../core/tunnel-registry.js';
import { createResolver } from '../dns/resolver.js';
import { OriginClient } from '../forward/origin-client.js';
import { EMPTY_IDENTITY, type IdentityMap, identify } from '../identity/index.js';

/** What a new running instance owns: an empty origin pool, no tunnels, no bound endpoints yet. */
export function createProxyInstance(): ProxyInstance {
  return { origins: new OriginClient(), tunnels: new TunnelRegistry(), endpoints: new SelfEndpoints() };
}

/**
 * A frozen context; a reload builds a new one and swaps it whole. `instance` is the same across reloads; `identity`
 * gives the identity map of the moment (none by default).
 */
export function createContext(
  config: Config,
  record: (entry: AccessRecord) => void,
  instance: ProxyInstance,
  identity: () => IdentityMap = () => EMPTY_IDENTITY,
): ProxyContext {
  return Object.freeze({
    config,
    policy: compilePolicy(config),
    resolve: createResolver(config),
    identify: (client: ClientInfo) => identify(identity(), client),
    record,
    instance,
  });
}
