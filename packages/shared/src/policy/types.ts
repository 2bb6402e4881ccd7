import type { AllowReason, DenyReason, ReportableReason } from './reasons.js';

/** A client as the listener saw it: an IP address, with the zone (interface name) for link-local addresses. */
export interface ClientAddress {
  readonly address: string;
  readonly zone?: string | undefined;
}

/** What the listener a client connected to knows about how it arrived. */
export interface ListenerFacts {
  /** The interface of a zoned (link-local) listener: only clients with that same zone are served (the zone rule). */
  readonly zone?: string | undefined;
  /**
   * True on a unix socket listener: the peer is a client by definition (whoever can open the socket was let in by
   * its mode and owner), so `clients` and the zone rule do not apply.
   */
  readonly unix?: boolean | undefined;
}

/** Which container a client is, as the identity map (or a per-container socket) says at the time of the request. */
export interface ClientIdentity {
  /** The instance name (`containers.NAME` in the config). */
  readonly name: string;
  /**
   * True when the identity cannot be spoofed: LXD's MAC and IPv6 filtering are on for the NIC, or the client came
   * through the instance's own socket. Only an authoritative identity gets the `containers.NAME` grants.
   */
  readonly authoritative: boolean;
}

/** What the policy decides on: known before any connection is opened. `host` is as received (normalised inside). */
export interface DecisionInput {
  /** Undefined skips the client checks (`cuttle check` without `--client`). */
  readonly client?: ClientAddress | undefined;
  readonly method: string;
  readonly host: string;
  readonly port: number;
  /** The listener the request came in on; undefined when there is none (`cuttle check`, replay): no zone rule. */
  readonly listener?: ListenerFacts | undefined;
  /** The client's identity; undefined or null when nothing names it (then no container grant applies). */
  readonly identity?: ClientIdentity | null | undefined;
}

/** Host kinds a decided request can have; `invalid` only on a deny. */
export type DecidedHostKind = 'name' | 'ipv4' | 'ipv6';

/**
 * The verdict, with what it was for. `would_deny` is report mode: the request goes through (it is forwarded or
 * tunnelled like an allow) and is logged with the deny reason and rule it would have been denied for.
 */
export type Decision =
  | {
      readonly verdict: 'allow';
      readonly reason: AllowReason;
      /** The config entry that matched (`.ubuntu.com`, `rules[2]`, `containers.blog: .blog.test`, ...). */
      readonly rule: string | null;
      /** The normalised host (lowercase ASCII name without trailing dot, or canonical IP text). */
      readonly host: string;
      readonly hostKind: DecidedHostKind;
    }
  | {
      readonly verdict: 'would_deny';
      readonly reason: ReportableReason;
      readonly rule: string | null;
      readonly host: string;
      readonly hostKind: DecidedHostKind;
    }
  | {
      readonly verdict: 'deny';
      readonly reason: DenyReason;
      readonly rule: string | null;
      readonly host: string;
      readonly hostKind: DecidedHostKind | 'invalid';
    };

/** A compiled policy: built once from a validated config, then only `decide` runs per request. */
export interface Policy {
  /** The whole verdict: zone rule, clients, method, ports, host, rules, allowlists, container grants, report mode. */
  decide(input: DecisionInput): Decision;
}
