/**
 * Report mode (`mode: report` on the whole policy or on one deny rule), compiled once per policy. A request the
 * policy would deny for a reportable reason goes through as `would_deny`, carrying that reason and rule.
 *
 *   mode: report (whole policy)   every deny rule reports unless it says `mode: enforce`; the other reportable
 *                                 denies (not_allowlisted, ip_literal, port_denied, connect_port_denied) report
 *   mode: enforce, a rule with    the rule is passed over; if the rest of the policy allows the request it is a
 *     mode: report                would-deny for that rule (the first one that matched), if the rest denies, a deny
 *
 * Client, method and host-validity denies always enforce (REPORTABLE_REASONS in reasons.ts).
 */
import type { Config } from '../config/schema.js';
import { REPORTABLE_REASONS, type ReportableReason } from './reasons.js';
import type { Decision } from './types.js';

/** What a matching deny rule does: deny, report (a would-deny at once), or skip (report only if the rest allows). */
export type RuleMode = 'enforce' | 'report' | 'skip';

export interface ReportMode {
  /** Per entry of `config.rules` (allow rules are always `enforce`). */
  readonly ruleModes: readonly RuleMode[];
  /** The final verdict from the lists' verdict and the first skipped rule's label. */
  apply(d: Decision, skipped: string | null): Decision;
}

const REPORTABLE: ReadonlySet<string> = new Set(REPORTABLE_REASONS);

const isReportable = (reason: string): reason is ReportableReason => REPORTABLE.has(reason);

const ENFORCE: ReportMode = { ruleModes: [], apply: (d) => d };

/** Compiles the config's report-mode settings; `ENFORCE` (nothing changes) when nothing is in report mode. */
export function compileReportMode(config: Config): ReportMode {
  if (config.mode === 'report') {
    return {
      ruleModes: config.rules.map((r) =>
        r.action === 'deny' && r.mode !== 'enforce' ? 'report' : 'enforce',
      ),
      apply(d) {
        // Rule denies were settled per rule; the rest of the reportable denies go through.
        if (d.verdict !== 'deny' || d.reason === 'rule_denied' || d.hostKind === 'invalid') return d;
        if (!isReportable(d.reason)) return d;
        return { verdict: 'would_deny', reason: d.reason, rule: d.rule, host: d.host, hostKind: d.hostKind };
      },
    };
  }
  if (!config.rules.some((r) => r.mode === 'report')) return ENFORCE;
  return {
    ruleModes: config.rules.map((r) => (r.mode === 'report' ? 'skip' : 'enforce')),
    apply(d, skipped) {
      if (d.verdict !== 'allow' || skipped === null) return d;
      return {
        verdict: 'would_deny',
        reason: 'rule_denied',
        rule: skipped,
        host: d.host,
        hostKind: d.hostKind,
      };
    },
  };
}
