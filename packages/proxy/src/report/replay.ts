/**
 * Replay: re-decide recorded access-log lines under another policy and collect what would change.
 *
 *   line --parseAccessLine--> recorded decision (allow | deny | would_deny) --policy.decide--> new decision
 *        --differs?--> grouped by (old, new, method, host:port, reason)
 *
 * Only the policy's part is replayed: lines that never reached a decision (unparsable requests, connection
 * limits) are skipped, and a request the policy allowed but the private-address guard or the SNI check refused
 * counts as allowed (those checks need the live DNS answer and TLS bytes, which a log does not hold).
 */
import { type ClientAddress, DENY_REASONS, type Policy } from '@cuttle/shared';
import type { ParsedAccessLine } from '../log/parse-access-line.js';

/** The policy's verdict on a request. */
export type PolicyVerdict = 'allow' | 'deny' | 'would_deny';

/** Deny reasons given after the policy allowed (runtime checks): the recorded policy decision was allow. */
const AFTER_DECISION_DENIES: ReadonlySet<string> = new Set([
  'private_address',
  'sni_mismatch',
  'host_mismatch',
]);
/** Outcomes that came before any decision: nothing to replay. */
const BEFORE_DECISION: ReadonlySet<string> = new Set([
  'limit_exceeded',
  'bad_request',
  'bad_target',
  'headers_too_large',
  'client_timeout',
]);

/** One group of identical changes. */
export interface ReplayChange {
  readonly from: PolicyVerdict;
  readonly to: PolicyVerdict;
  readonly method: string;
  readonly target: string;
  /** The new decision's reason and rule. */
  readonly reason: string;
  readonly rule: string | null;
  count: number;
}

export interface ReplaySummary {
  lines: number;
  unparsed: number;
  skipped: number;
  replayed: number;
  changed: number;
  readonly changes: Map<string, ReplayChange>;
}

/** The recorded policy verdict of a line, or null when the line holds no decision. */
export function recordedVerdict(line: ParsedAccessLine): PolicyVerdict | null {
  if (line.method === '-' || line.host === '-' || line.host === '') return null;
  if (line.reason !== null && BEFORE_DECISION.has(line.reason)) return null;
  switch (line.verdict) {
    case 'would_deny':
      return 'would_deny';
    case 'deny':
      if (line.reason !== null && AFTER_DECISION_DENIES.has(line.reason)) return 'allow';
      if (line.reason !== null && !Object.hasOwn(DENY_REASONS, line.reason)) return null;
      return 'deny';
    default:
      return 'allow';
  }
}

/** `fe80::2%lxdbr0` -> address and zone; undefined for `-` (client rules then hold). */
export function clientOfLine(client: string): ClientAddress | undefined {
  if (client === '-' || client === '') return undefined;
  const pct = client.indexOf('%');
  return pct === -1 ? { address: client } : { address: client.slice(0, pct), zone: client.slice(pct + 1) };
}

function targetOf(line: ParsedAccessLine): string {
  const host = line.host.includes(':') ? `[${line.host}]` : line.host;
  return `${host}:${line.port}`;
}

/** A fresh summary to feed lines into. */
export function newReplaySummary(): ReplaySummary {
  return { lines: 0, unparsed: 0, skipped: 0, replayed: 0, changed: 0, changes: new Map() };
}

/** Re-decides one parsed line (null: a line that did not parse) into `summary`. */
export function replayLine(policy: Policy, line: ParsedAccessLine | null, summary: ReplaySummary): void {
  summary.lines++;
  if (line === null) {
    summary.unparsed++;
    return;
  }
  const from = recordedVerdict(line);
  if (from === null) {
    summary.skipped++;
    return;
  }
  summary.replayed++;
  const d = policy.decide({
    client: clientOfLine(line.client),
    method: line.method,
    host: line.host,
    port: line.port,
  });
  const to: PolicyVerdict = d.verdict;
  if (to === from) return;
  summary.changed++;
  const target = targetOf(line);
  const key = `${from}\0${to}\0${line.method}\0${target}\0${d.reason}\0${d.rule ?? ''}`;
  const known = summary.changes.get(key);
  if (known !== undefined) known.count++;
  else
    summary.changes.set(key, {
      from,
      to,
      method: line.method,
      target,
      reason: d.reason,
      rule: d.rule,
      count: 1,
    });
}
