/** Builds the ProxyContext for one validated config: compiled policy, checked resolver, access sink. */
import { type Config, compilePolicy } from '@cuttle/shared';
import type { AccessRecord, ProxyContext, ProxyInstance } from '../core/context.js';
import { SelfEndpoints } from '../core/self-endpoints.js';
import { TunnelRegistry } from '../core/tunnel-registry.js';
import { createResolver } from '../dns/resolver.js';
import { createOriginAgent } from '../forward/origin-agent.js';

/** What a new running instance owns: an empty origin pool, no tunnels, no bound endpoints yet. */
export function createProxyInstance(): ProxyInstance {
  return { originAgent: createOriginAgent(), tunnels: new TunnelRegistry(), endpoints: new SelfEndpoints() };
}

/** A frozen context; a reload builds a new one and swaps it whole. `instance` is the same across reloads. */
export function createContext(
  config: Config,
  record: (entry: AccessRecord) => void,
  instance: ProxyInstance,
): ProxyContext {
  return Object.freeze({
    config,
    policy: compilePolicy(config),
    resolve: createResolver(config),
    record,
    instance,
  });
}
