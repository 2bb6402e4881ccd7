/**
 * `ssl_bump` lines. cuttle never decrypts; the one shape it understands is the SNI allowlist that egress configs
 * build with peek and splice:
 *
 *   acl step1 at_step SslBump1          ssl_bump peek step1
 *   acl sni ssl::server_name .x.test    ssl_bump splice sni
 *                                       ssl_bump terminate all
 *
 * Squid reads the ClientHello, tunnels when its SNI is in `sni`, and closes the connection otherwise. cuttle denies
 * CONNECT to a name outside `sni` before anything else and, with `connect.require_sni` (its default), closes a
 * tunnel whose SNI is not the CONNECT host: together, the same allowlist. `bump` and `stare` are refused.
 */
import type { SquidIssue } from '../errors.js';
import type { Acl } from './acls.js';
import type { SquidDirective } from './read-squid-conf.js';

export interface SslBumpLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly action: 'peek' | 'splice' | 'terminate';
  readonly acls: readonly Acl[];
}

/** Reads one ssl_bump line; null (with an issue) for an action or ACL outside the allowlist shape. */
export function readSslBump(
  d: SquidDirective,
  acls: Map<string, Acl>,
  issue: (m: string) => void,
): SslBumpLine | null {
  const [action, ...names] = d.args;
  if (action !== 'peek' && action !== 'splice' && action !== 'terminate') {
    issue(
      `ssl_bump ${action ?? ''}: cuttle never decrypts TLS; only the peek/splice/terminate SNI allowlist is understood (docs/squid-import.md)`,
    );
    return null;
  }
  const list: Acl[] = [];
  for (const raw of names) {
    const acl = raw.startsWith('!') ? undefined : acls.get(raw);
    if (acl === undefined) {
      issue(
        raw.startsWith('!')
          ? `ssl_bump ${action} ${raw}: negated ACLs are not understood here`
          : `undefined acl '${raw}'`,
      );
      return null;
    }
    list.push(acl);
  }
  return { file: d.file, line: d.line, text: d.args.join(' '), action, acls: list };
}

/**
 * The SNI allowlist the lines build: `names` to splice (null: `splice all`, no restriction), or undefined when
 * there is no ssl_bump line. Pushes an issue for any other arrangement.
 */
export function sniAllowlist(
  lines: readonly SslBumpLine[],
  issues: SquidIssue[],
): { names: string[] | null; file: string; line: number; text: string } | undefined {
  if (lines.length === 0) return undefined;
  const bad = (l: SslBumpLine, why: string): undefined => {
    issues.push({ file: l.file, line: l.line, message: `ssl_bump ${l.text}: ${why}` });
    return undefined;
  };
  const names = new Set<string>();
  let spliceAll = false;
  let first: SslBumpLine | undefined;
  let terminated = false;
  for (const l of lines) {
    if (terminated) return bad(l, "comes after 'ssl_bump terminate all' and is never used");
    const kinds = l.acls.map((a) => a.kind);
    if (l.action === 'peek') {
      if (first !== undefined)
        return bad(l, 'peek after splice: only peek at step 1, then splice, then terminate all');
      const step1 = (a: Acl): boolean => a.kind === 'step' && [...a.values.keys()].join() === 'SslBump1';
      if (!l.acls.every((a) => a.kind === 'all' || step1(a)))
        return bad(l, "peek is only understood at step 1 ('peek step1' or 'peek all')");
    } else if (l.action === 'splice') {
      first ??= l;
      if (kinds.length === 1 && kinds[0] === 'all') spliceAll = true;
      else if (kinds.length === 1 && (kinds[0] === 'sni' || kinds[0] === 'dstdomain'))
        for (const v of (l.acls[0] as Acl).values.keys()) names.add(v);
      else return bad(l, 'splice is only understood with one ssl::server_name (or dstdomain) ACL, or all');
    } else {
      if (!(kinds.length === 1 && kinds[0] === 'all'))
        return bad(l, "only 'ssl_bump terminate all' is understood");
      terminated = true;
    }
  }
  if (first === undefined)
    return bad(lines[0] as SslBumpLine, 'no splice line: every TLS connection would be closed');
  if (!terminated && !spliceAll)
    return bad(
      first,
      "no final 'ssl_bump terminate all': what Squid does with other names is not an allowlist",
    );
  return { names: spliceAll ? null : [...names], file: first.file, line: first.line, text: first.text };
}
