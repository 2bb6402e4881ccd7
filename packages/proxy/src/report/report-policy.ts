/**
 * Report mode (`mode: report` on the whole policy or on one deny rule): a request the policy would deny goes
 * through and is logged as `would_deny` with the reason and rule it would have been denied for.
 *
 *   enforce policy (report-mode rules left out) --deny--> deny
 *                                               --allow--> full policy (every rule) --deny--> would_deny
 *                                                                                   --allow--> allow
 *
 * The policy engine stays two-valued: a would-deny is handed to the traffic paths as an allow Decision that
 * carries the deny reason, and `markWouldDeny` turns its access record's verdict into `would_deny`. Client,
 * method and host-validity denies and every check made after the decision (private-address guard, SNI) always
 * enforce: report mode loosens the allowlist, never who may use the proxy or where it may connect.
 */
import {
  type AllowReason,
  type Config,
  compilePolicy,
  DENY_REASONS,
  type Decision,
  type DecisionInput,
  type Policy,
} from '@cuttle/shared';
import type { AccessRecord } from '../core/context.js';

/** Deny reasons report mode lets through. */
export const REPORTABLE_REASONS: ReadonlySet<string> = new Set([
  'not_allowlisted',
  'ip_literal',
  'rule_denied',
  'port_denied',
  'connect_port_denied',
]);

type Denied = Extract<Decision, { verdict: 'deny' }>;

/** The allow Decision that stands for "would be denied for `d.reason`", or `d` itself when it must enforce. */
function wouldDeny(d: Denied): Decision {
  if (!REPORTABLE_REASONS.has(d.reason) || d.hostKind === 'invalid') return d;
  // Deliberate: the reason is a DenyReason; markWouldDeny recognises it on the access record.
  return {
    verdict: 'allow',
    reason: d.reason as unknown as AllowReason,
    rule: d.rule,
    host: d.host,
    hostKind: d.hostKind,
  };
}

/** True when an allow Decision is a report-mode would-deny. */
export function isWouldDeny(d: Decision): boolean {
  return d.verdict === 'allow' && Object.hasOwn(DENY_REASONS, d.reason);
}

/** Sets `verdict: 'would_deny'` on a record that went through with a deny reason (called by the access sink). */
export function markWouldDeny(entry: AccessRecord): void {
  if (entry.verdict === 'allow' && Object.hasOwn(DENY_REASONS, entry.reason)) entry.verdict = 'would_deny';
}

/** True when the config puts the policy or a rule in report mode. */
export function usesReportMode(config: Config): boolean {
  return config.mode === 'report' || config.rules.some((r) => r.mode === 'report');
}

/** `compilePolicy` with report mode applied; exactly `compilePolicy(config)` when nothing is in report mode. */
export function compileReportingPolicy(config: Config): Policy {
  if (!usesReportMode(config)) return compilePolicy(config);
  // Labels fixed before filtering so `rules[3]` keeps its name when rules before it are left out.
  const labelled = config.rules.map((r, i) => ({ ...r, name: r.name ?? `rules[${i}]` }));
  const full = compilePolicy({ ...config, rules: labelled });
  if (config.mode === 'report') {
    const enforced = new Set(labelled.filter((r) => r.mode === 'enforce').map((r) => r.name));
    return {
      decide(input: DecisionInput): Decision {
        const d = full.decide(input);
        if (d.verdict === 'allow') return d;
        if (d.reason === 'rule_denied' && d.rule !== null && enforced.has(d.rule)) return d;
        return wouldDeny(d);
      },
    };
  }
  const enforcing = compilePolicy({ ...config, rules: labelled.filter((r) => r.mode !== 'report') });
  return {
    decide(input: DecisionInput): Decision {
      const e = enforcing.decide(input);
      if (e.verdict === 'deny') return e;
      const f = full.decide(input);
      return f.verdict === 'deny' ? wouldDeny(f) : e;
    },
  };
}
