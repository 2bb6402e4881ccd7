import type { AllowReason, DenyReason } from './reasons.js';

/** A client as the listener saw it: an IP address, with the zone (interface name) for link-local addresses. */
export interface ClientAddress {
  readonly address: string;
  readonly zone?: string | undefined;
}

/** What the policy decides on: known before any connection is opened. `host` is as received (normalised inside). */
export interface DecisionInput {
  /** Undefined skips the client checks (`cuttle check` without `--client`). */
  readonly client?: ClientAddress | undefined;
  readonly method: string;
  readonly host: string;
  readonly port: number;
}

export type Decision =
  | {
      readonly verdict: 'allow';
      readonly reason: AllowReason;
      /** The config entry that matched (`.ubuntu.com`, `rules[2]`, ...). */
      readonly rule: string | null;
      /** The normalised host (lowercase ASCII name without trailing dot, or canonical IP text). */
      readonly host: string;
      readonly hostKind: 'name' | 'ipv4' | 'ipv6';
    }
  | {
      readonly verdict: 'deny';
      readonly reason: DenyReason;
      readonly rule: string | null;
      readonly host: string;
      readonly hostKind: 'name' | 'ipv4' | 'ipv6' | 'invalid';
    };

/** A compiled policy: built once from a validated config, then only `decide` runs per request. */
export interface Policy {
  decide(input: DecisionInput): Decision;
}
