/**
 * Every verdict reason, defined once. The decision, the `X-Cuttle-Deny` header, the access log, the metric label
 * and docs/errors.md all use these codes; a test keeps docs/errors.md in sync with this table.
 */
export const DENY_REASONS = {
  client_denied: 'The client address is not in `clients` (or is on another interface than the listener).',
  port_denied: 'The destination port is not in `ports`.',
  connect_port_denied: 'CONNECT to a port not in `connect_ports`.',
  method_denied: 'The method is not one cuttle forwards.',
  not_allowlisted: 'The destination name matches no `allow` entry.',
  ip_literal: 'The destination is an IP literal not covered by `allow_ips`.',
  invalid_host: 'The destination host is not a valid name or address.',
  rule_denied: 'A `rules` entry with `action: deny` matched.',
  private_address: 'A resolved address of the destination is private (loopback, RFC 1918, link-local, ...).',
  sni_mismatch: 'The TLS ClientHello in a CONNECT tunnel had no SNI or an SNI other than the CONNECT host.',
  host_mismatch:
    'The first request in a CONNECT tunnel to a `connect.http_ports` port was not HTTP/1.x or named another host or port.',
  limit_exceeded: 'A connection limit was reached.',
  self_loop:
    'A resolved address and port of the destination is one this process listens on (a proxy or the metrics listener, every local address for an interface listener); refused whatever `allow`, `allow_ips` and `destinations.allow_ranges` say.',
} as const;

export type DenyReason = keyof typeof DENY_REASONS;

/** Reasons attached to an allowed decision. */
export const ALLOW_REASONS = {
  allowlisted:
    'The destination name matches an `allow` entry (or a `containers.NAME.allow` entry of the client).',
  ip_allowed: 'The destination is an IP literal in `allow_ips`.',
  rule_allowed: 'A `rules` entry with `action: allow` matched.',
} as const;

export type AllowReason = keyof typeof ALLOW_REASONS;

/**
 * The deny reasons report mode lets through as `would_deny`: the allowlist's and the port lists' own. Who may use
 * the proxy (client, method), a malformed host and every check made after the decision (private-address guard,
 * SNI) always enforce: report mode loosens the allowlist, never who may use the proxy or where it may connect.
 */
export const REPORTABLE_REASONS = [
  'not_allowlisted',
  'ip_literal',
  'rule_denied',
  'port_denied',
  'connect_port_denied',
] as const satisfies readonly DenyReason[];

export type ReportableReason = (typeof REPORTABLE_REASONS)[number];
