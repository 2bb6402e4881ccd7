/**
 * config -> Policy. Everything is compiled here once; `decide` then gives the whole verdict, in this order (first
 * failure wins):
 *   zone rule (zoned listener) -> client (not on a unix listener) -> method -> port (ports | connect_ports)
 *   -> host validity -> rules (first match) -> IP literal (allow_ips | deny ip_literal) -> allow (name patterns)
 *   -> deny not_allowlisted
 * then, on that result: the container grants (a `not_allowlisted` for a container with an authoritative identity
 * whose own `containers.NAME.allow` matches becomes an allow) and report mode (report-mode denies become
 * `would_deny`, see report-mode.ts).
 */
import type { Config } from '../config/schema.js';
import { isNormalName, normalizeHost } from '../host/normalize-host.js';
import { type IpAddress, parseIpAddress } from '../net/address.js';
import { PortSet } from '../net/port-set.js';
import { compileContainerGrants } from './container-grants.js';
import { PolicyCompileError, type PolicyIssue } from './errors.js';
import type { DenyReason } from './reasons.js';
import { compileReportMode } from './report-mode.js';
import { type CompiledRule, compileDomains, compileRanges, compileRule, type RuleSubject } from './rules.js';
import type { ClientAddress, Decision, DecisionInput, ListenerFacts, Policy } from './types.js';

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
 * The zone rule: a listener bound to a zoned (link-local) address only serves clients whose zone is that same
 * interface. The kernel already refuses other interfaces for a zoned bind; this is the second check.
 */
export function isZoneMismatch(client: ClientAddress, listenerZone: string | undefined): boolean {
  if (listenerZone === undefined) return false;
  return client.zone !== listenerZone;
}

const NO_LISTENER: ListenerFacts = {};

/**
 * Compiles a validated config into a Policy. Throws PolicyCompileError listing every invalid entry (range,
 * domain pattern) with its key path.
 */
export function compilePolicy(config: Config): Policy {
  const issues: PolicyIssue[] = [];
  const clients = compileRanges(config.clients, ['clients'], issues);
  const ports = new PortSet(config.ports);
  const connectPorts = new PortSet(config.connect_ports);
  const allow = compileDomains(config.allow, ['allow'], issues);
  const allowIps = compileRanges(config.allow_ips, ['allow_ips'], issues);
  const rules = config.rules.map((r, i) => compileRule(r, i, issues));
  compileRanges(config.destinations.allow_ranges, ['destinations', 'allow_ranges'], issues);
  const grant = compileContainerGrants(config.containers, issues);
  const report = compileReportMode(config);
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

  // The first report-only deny rule that matched and was passed over (a report rule under an enforcing policy):
  // the request is a would-deny if the rest allows it. Set by `evaluate`, read by `decide` right after (one
  // variable instead of an object per decision: allocation is what a large list makes expensive, see
  // bench/README.md "Allowlist flatness").
  let skippedLabel: string | null = null;

  /** The verdict of the lists alone. */
  const evaluate = (input: DecisionInput): Decision => {
    const raw = input.host;
    // Most hosts arrive already normal: then no NormalizedHost is built for them.
    const n = isNormalName(raw) ? null : normalizeHost(raw);
    const hostKind = n === null ? 'name' : n.kind;
    const host = n === null || n.kind === 'invalid' ? raw : n.host;
    const listener = input.listener ?? NO_LISTENER;

    let client: IpAddress | null = null;
    if (input.client !== undefined && listener.unix !== true) {
      if (isZoneMismatch(input.client, listener.zone)) return denyOf('client_denied', null, host, hostKind);
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
    if (hostKind === 'invalid') return denyOf('invalid_host', null, host, hostKind);

    const ip = n !== null && (n.kind === 'ipv4' || n.kind === 'ipv6') ? n.address : null;
    if (rules.length > 0) {
      const subject: RuleSubject = { client, method, port: input.port, name: ip ? null : host, ip };
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i] as CompiledRule;
        if (!rule.matches(subject)) continue;
        if (rule.action === 'allow')
          return { verdict: 'allow', reason: 'rule_allowed', rule: rule.label, host, hostKind };
        switch (report.ruleModes[i]) {
          case 'skip':
            skippedLabel ??= rule.label;
            continue;
          case 'report':
            return { verdict: 'would_deny', reason: 'rule_denied', rule: rule.label, host, hostKind };
          default:
            return denyOf('rule_denied', rule.label, host, hostKind);
        }
      }
    }
    if (ip !== null) {
      const range = allowIps.find(ip);
      if (range === null) return denyOf('ip_literal', null, host, hostKind);
      return { verdict: 'allow', reason: 'ip_allowed', rule: range.text, host, hostKind };
    }
    const entry = allow.match(host);
    if (entry === null) return denyOf('not_allowlisted', null, host, hostKind);
    return { verdict: 'allow', reason: 'allowlisted', rule: entry, host, hostKind: 'name' };
  };

  const decide = (input: DecisionInput): Decision => {
    skippedLabel = null;
    const d = evaluate(input);
    // The grants add names to `allow` for one container, so they answer exactly what `allow` would have.
    if (d.verdict === 'deny' && d.reason === 'not_allowlisted') {
      const granted = grant(d.host, input.identity);
      if (granted !== null) return granted;
    }
    return report.apply(d, skippedLabel);
  };
  return { decide };
}

function denyOf(
  reason: DenyReason,
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
