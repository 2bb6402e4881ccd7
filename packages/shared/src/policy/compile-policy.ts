/**
 * config -> Policy. Everything is compiled here once; `decide` then runs, in this order (first failure wins):
 *   client -> method -> port (ports | connect_ports) -> host validity -> rules (first match)
 *   -> IP literal (allow_ips | deny ip_literal) -> allow (name patterns) -> deny not_allowlisted
 */
import type { Config } from '../config/schema.js';
import { normalizeHost } from '../host/normalize-host.js';
import { type IpAddress, parseIpAddress } from '../net/address.js';
import { PolicyCompileError, type PolicyIssue } from './errors.js';
import { compileDomains, compileRanges, compileRule, type RuleSubject } from './rules.js';
import type { ClientAddress, Decision, DecisionInput, Policy } from './types.js';

/** Methods cuttle forwards (RFC 9110 plus PATCH); anything else is `method_denied`. */
export const ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
]);

function parseClient(client: ClientAddress): IpAddress | null {
  const addr = parseIpAddress(client.address);
  if (addr === null) return null;
  if (addr.kind === 'ipv6' && addr.zone === undefined && client.zone !== undefined && client.zone !== '') {
    return { kind: 'ipv6', parts: addr.parts, zone: client.zone };
  }
  return addr;
}

/**
 * Compiles a validated config into a Policy. Throws PolicyCompileError listing every invalid entry (range,
 * domain pattern) with its key path.
 */
export function compilePolicy(config: Config): Policy {
  const issues: PolicyIssue[] = [];
  const clients = compileRanges(config.clients, ['clients'], issues);
  const ports = new Set(config.ports);
  const connectPorts = new Set(config.connect_ports);
  const allow = compileDomains(config.allow, ['allow'], issues);
  const allowIps = compileRanges(config.allow_ips, ['allow_ips'], issues);
  const rules = config.rules.map((r, i) => compileRule(r, i, issues));
  compileRanges(config.destinations.allow_ranges, ['destinations', 'allow_ranges'], issues);
  if (issues.length > 0) throw new PolicyCompileError(issues);

  // One-entry cache of the last client parsed: a keep-alive connection sends many requests from one address, and
  // parsing it was ~40% of a decision at 10 rules (bench/README.md). Strings compare by value; nothing is retained
  // beyond one address.
  let lastAddress: string | null = null;
  let lastZone: string | undefined;
  let lastParsed: IpAddress | null = null;
  const clientOf = (c: ClientAddress): IpAddress | null => {
    if (c.address !== lastAddress || c.zone !== lastZone) {
      lastParsed = parseClient(c);
      lastAddress = c.address;
      lastZone = c.zone;
    }
    return lastParsed;
  };

  const decide = (input: DecisionInput): Decision => {
    const n = normalizeHost(input.host);
    const host = n.kind === 'invalid' ? input.host : n.host;
    const hostKind = n.kind;

    let client: IpAddress | null = null;
    if (input.client !== undefined) {
      client = clientOf(input.client);
      if (client === null || !clients.has(client)) return denyOf('client_denied', null, host, hostKind);
    }
    const method = input.method;
    if (!ALLOWED_METHODS.has(method)) return denyOf('method_denied', null, host, hostKind);
    if (method === 'CONNECT') {
      if (!connectPorts.has(input.port)) return denyOf('connect_port_denied', null, host, hostKind);
    } else if (!ports.has(input.port)) {
      return denyOf('port_denied', null, host, hostKind);
    }
    if (n.kind === 'invalid') return denyOf('invalid_host', null, host, hostKind);

    const ip = n.kind === 'name' ? null : n.address;
    if (rules.length > 0) {
      const subject: RuleSubject = { client, method, port: input.port, name: ip ? null : n.host, ip };
      for (const rule of rules) {
        if (!rule.matches(subject)) continue;
        if (rule.action === 'deny') return denyOf('rule_denied', rule.label, host, hostKind);
        return { verdict: 'allow', reason: 'rule_allowed', rule: rule.label, host, hostKind: n.kind };
      }
    }
    if (ip !== null) {
      const range = allowIps.find(ip);
      if (range === null) return denyOf('ip_literal', null, host, hostKind);
      return { verdict: 'allow', reason: 'ip_allowed', rule: range.text, host, hostKind: n.kind };
    }
    const entry = allow.match(n.host);
    if (entry === null) return denyOf('not_allowlisted', null, host, hostKind);
    return { verdict: 'allow', reason: 'allowlisted', rule: entry, host, hostKind: 'name' };
  };
  return { decide };
}

function denyOf(
  reason: Extract<Decision, { verdict: 'deny' }>['reason'],
  rule: string | null,
  host: string,
  hostKind: Decision['hostKind'],
): Decision {
  return { verdict: 'deny', reason, rule, host, hostKind };
}

/**
 * For the config schema's `superRefine`: the issues `compilePolicy` would throw for `config`, or [] if it
 * compiles.
 */
export function validatePolicy(config: Config): PolicyIssue[] {
  try {
    compilePolicy(config);
    return [];
  } catch (err) {
    if (err instanceof PolicyCompileError) return [...err.issues];
    throw err;
  }
}

/** For a `.refine` on one allow/domains entry: null if the pattern compiles, else the message. */
export function validateDomainPattern(pattern: string): string | null {
  const issues: PolicyIssue[] = [];
  compileDomains([pattern], [], issues);
  return issues[0]?.message ?? null;
}
