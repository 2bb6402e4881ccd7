/**
 * `rules`: first-match entries, every given condition ANDed, `not_*` negating one (Squid http_access with
 * `!acl`). Compiled once into sets and matchers; evaluation allocates nothing.
 */
import type { Rule } from '../config/schema.js';
import { DomainMatcher } from '../host/domain-matcher.js';
import type { IpAddress } from '../net/address.js';
import { AddressRangeSet, parseAddressRange } from '../net/cidr.js';
import { PortSet } from '../net/port-set.js';
import type { PolicyIssue } from './errors.js';

/** What a rule is checked against: the normalised request. `client` null means "not known": client conditions hold. */
export interface RuleSubject {
  readonly client: IpAddress | null;
  readonly method: string;
  readonly port: number;
  /** The normalised name, or null for an IP literal. */
  readonly name: string | null;
  /** The IP literal, or null for a name. */
  readonly ip: IpAddress | null;
}

export interface CompiledRule {
  readonly label: string;
  readonly action: 'allow' | 'deny';
  matches(s: RuleSubject): boolean;
}

/** Compiles a range list, recording bad entries as issues at `path`. */
export function compileRanges(
  list: readonly string[],
  path: readonly (string | number)[],
  issues: PolicyIssue[],
): AddressRangeSet {
  const ranges = [];
  for (let i = 0; i < list.length; i++) {
    const text = list[i] as string;
    try {
      ranges.push(parseAddressRange(text));
    } catch (err) {
      issues.push({ path: [...path, i], value: text, message: (err as Error).message });
    }
  }
  return new AddressRangeSet(ranges);
}

/** Compiles a domain pattern list, recording bad entries as issues at `path`. */
export function compileDomains(
  list: readonly string[],
  path: readonly (string | number)[],
  issues: PolicyIssue[],
): DomainMatcher {
  return new DomainMatcher(list, (i, message) =>
    issues.push({ path: [...path, i], value: list[i] as string, message }),
  );
}

type Check = (s: RuleSubject) => boolean;

/** Compiles `rules[index]`. An allow rule can only match an IP literal through `dst`. */
export function compileRule(rule: Rule, index: number, issues: PolicyIssue[]): CompiledRule {
  const at = (key: string): (string | number)[] => ['rules', index, key];
  const checks: Check[] = [];
  const ranges = (key: 'clients' | 'not_clients' | 'dst' | 'not_dst') => {
    const list = rule[key];
    return list === undefined ? null : compileRanges(list, at(key), issues);
  };
  const domains = (key: 'domains' | 'not_domains') => {
    const list = rule[key];
    return list === undefined ? null : compileDomains(list, at(key), issues);
  };
  const clients = ranges('clients');
  if (clients) checks.push((s) => s.client === null || clients.has(s.client));
  const notClients = ranges('not_clients');
  if (notClients) checks.push((s) => s.client === null || !notClients.has(s.client));
  if (rule.ports) {
    const set = new PortSet(rule.ports);
    checks.push((s) => set.has(s.port));
  }
  if (rule.not_ports) {
    const set = new PortSet(rule.not_ports);
    checks.push((s) => !set.has(s.port));
  }
  if (rule.methods) {
    const set = new Set(rule.methods.map((m) => m.toUpperCase()));
    checks.push((s) => set.has(s.method));
  }
  if (rule.not_methods) {
    const set = new Set(rule.not_methods.map((m) => m.toUpperCase()));
    checks.push((s) => !set.has(s.method));
  }
  const dom = domains('domains');
  if (dom) checks.push((s) => s.name !== null && dom.match(s.name) !== null);
  const notDom = domains('not_domains');
  // Squid `!dstdomain`: an IP literal is not one of the names, so the negation holds.
  if (notDom) checks.push((s) => s.name === null || notDom.match(s.name) === null);
  const dst = ranges('dst');
  if (dst) checks.push((s) => s.ip !== null && dst.has(s.ip));
  const notDst = ranges('not_dst');
  if (notDst) checks.push((s) => s.ip === null || !notDst.has(s.ip));
  if (rule.action === 'allow' && !dst) checks.push((s) => s.ip === null);

  const label = rule.name ?? `rules[${index}]`;
  const matches = (s: RuleSubject): boolean => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(s)) return false;
    return true;
  };
  return { label, action: rule.action, matches };
}
