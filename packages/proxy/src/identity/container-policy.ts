/**
 * Per-container additions (`containers: {blog: {allow: [...]}}`): a request the policy denies as
 * `not_allowlisted` (or reports as a would-deny for that reason) is allowed when the client is a container the
 * identity map marks as filtered and the name matches that container's own list. Advisory identities (no MAC/IPv6
 * filtering, so the address could be spoofed) never grant.
 */
import { type Config, type Decision, type DecisionInput, DomainMatcher, type Policy } from '@cuttle/shared';
import { isWouldDeny } from '../report/report-policy.js';
import type { IdentityMap } from './identity-map.js';

/** Wraps `inner` with the `containers` grants; `inner` itself when the config has none. */
export function withContainerGrants(inner: Policy, config: Config, identity: () => IdentityMap): Policy {
  const names = Object.keys(config.containers);
  if (names.length === 0) return inner;
  const matchers = new Map<string, DomainMatcher>();
  for (const name of names) {
    // Patterns were validated by the schema; a failure here would be a bug, and it fails closed (no grant).
    matchers.set(name, new DomainMatcher(config.containers[name]?.allow ?? [], () => {}));
  }
  return {
    decide(input: DecisionInput): Decision {
      const d = inner.decide(input);
      // A deny, or a report-mode would-deny (an allow Decision carrying the deny reason), for this reason only.
      if ((d.reason as string) !== 'not_allowlisted' || (d.verdict === 'allow' && !isWouldDeny(d))) return d;
      if (d.hostKind !== 'name' || input.client === undefined) return d;
      const { address, zone } = input.client;
      const who = identity().lookup(zone === undefined ? address : `${address}%${zone}`);
      if (who === null || !who.filtered) return d;
      const entry = matchers.get(who.name)?.match(d.host) ?? null;
      if (entry === null) return d;
      return {
        verdict: 'allow',
        reason: 'allowlisted',
        rule: `containers.${who.name}: ${entry}`,
        host: d.host,
        hostKind: 'name',
      };
    },
  };
}
