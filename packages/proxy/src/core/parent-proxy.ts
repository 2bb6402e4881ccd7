/**
 * The parent proxy of `upstream`, as the traffic paths use it: parsed once when a config is prepared
 * (lifecycle/prepare.ts, with upstream/parent-proxy.ts). Types only.
 */

/** The parent proxy of `upstream`, parsed once when the config is prepared. */
export interface ParentProxy {
  /** Host to resolve or connect to: a normalised name, or an IP literal (IPv6 without brackets, zone kept). */
  readonly host: string;
  readonly hostKind: 'name' | 'ipv4' | 'ipv6';
  readonly port: number;
  /** `Basic ...` when the URL has userinfo, else null. */
  readonly authorization: string | null;
  /** The URL with the password replaced, for logs and error messages. */
  readonly redacted: string;
}
