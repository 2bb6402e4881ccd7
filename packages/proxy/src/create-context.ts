/** Builds the ProxyContext for one validated config: compiled policy, checked resolver, access sink. */
import { type Config, compilePolicy } from '@cuttle/shared';
import type { AccessRecord, ProxyContext } from './context.js';
import { createResolver } from './dns/resolver.js';

/** A frozen context; a reload builds a new one and swaps it whole. */
export function createContext(config: Config, record: (entry: AccessRecord) => void): ProxyContext {
  return Object.freeze({
    config,
    policy: compilePolicy(config),
    resolve: createResolver(config),
    record,
  });
}
