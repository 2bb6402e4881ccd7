/**
 * Per-container additions (`containers: {blog: {allow: [...]}}`): a request the lists deny as `not_allowlisted`
 * is allowed when the client's identity is authoritative (the identity map marks the NIC as filtered, or the
 * request came through the container's own socket) and the name matches that container's own list. An identity
 * that could be spoofed never grants.
 */
import type { Config } from '../config/schema.js';
import type { DomainMatcher } from '../host/domain-matcher.js';
import type { PolicyIssue } from './errors.js';
import { compileDomains } from './rules.js';
import type { ClientIdentity, Decision } from './types.js';

/** The grant for `host` (a normalised name) and an identity, or null. */
export type ContainerGrant = (host: string, identity: ClientIdentity | null | undefined) => Decision | null;

/** Compiles every container's list once; a bad pattern is an issue at `containers.NAME.allow[i]`. */
export function compileContainerGrants(
  containers: Config['containers'],
  issues: PolicyIssue[],
): ContainerGrant {
  const matchers = new Map<string, DomainMatcher>();
  for (const [name, entry] of Object.entries(containers)) {
    matchers.set(name, compileDomains(entry.allow, ['containers', name, 'allow'], issues));
  }
  if (matchers.size === 0) return () => null;
  return (host, identity) => {
    if (identity === null || identity === undefined || !identity.authoritative) return null;
    const entry = matchers.get(identity.name)?.match(host) ?? null;
    if (entry === null) return null;
    return {
      verdict: 'allow',
      reason: 'allowlisted',
      rule: `containers.${identity.name}: ${entry}`,
      host,
      hostKind: 'name',
    };
  };
}
