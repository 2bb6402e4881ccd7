/**
 * squid.conf -> cuttle config. Pure: the text comes in, a config object and its YAML come out; the hosts file that
 * `hosts_file` names is read by the caller and passed back in as `options.hosts`. Anything outside the supported
 * subset is refused with FILE:LINE, never approximated. docs/squid-import.md explains the mapping.
 */

import { parseListenAddress } from '../config/listen-address.js';
import type { ConfigInput, Rule } from '../config/schema.js';
import { SquidImportError, type SquidIssue } from '../errors.js';
import { type AccessLine, accessLineToRule, reachablePorts } from './access-rules.js';
import { type Acl, addAclDirective, builtinAcls } from './acls.js';
import { parseSquidConf } from './parse-squid-conf.js';
import { renderImportedYaml } from './render-yaml.js';

/** Options of `importSquid`. */
export interface ImportSquidOptions {
  /** Where a bare `http_port PORT` listens: a full listen address, or a host/interface the port is added to. */
  readonly listen?: string | undefined;
  /** `dns.hosts` read from the file `hosts_file` names (see `parseHostsFile`). */
  readonly hosts?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** The result: the config (as written, defaults not applied), its YAML, and the hosts file to read, if any. */
export interface ImportedSquid {
  readonly config: ConfigInput;
  readonly yamlText: string;
  readonly hostsFile?: string | undefined;
  /** Notes that also appear as comments in the YAML (how a bare http_port was mapped, Squid differences). */
  readonly notes: readonly string[];
}

/** Where cuttle puts a bare `http_port PORT` unless told otherwise. */
export const DEFAULT_BARE_LISTEN = 'lxdbr0';

function listenFor(port: string, listen: string | undefined): string {
  const base = listen ?? DEFAULT_BARE_LISTEN;
  try {
    return parseListenAddress(base).text;
  } catch {
    return base.includes(':') && !base.startsWith('[') ? `[${base}]:${port}` : `${base}:${port}`;
  }
}

/**
 * Converts squid.conf `text` (read from `file`, used in messages and the header comment). Throws SquidImportError
 * listing every unsupported directive, ACL type or option and every undefined ACL, each with FILE:LINE.
 */
export function importSquid(text: string, file: string, options: ImportSquidOptions = {}): ImportedSquid {
  const issues: SquidIssue[] = [];
  const acls = builtinAcls();
  const access: AccessLine[] = [];
  const listen: string[] = [];
  const notes: string[] = [];
  let hostsFile: string | undefined;
  const bare = (port: string, line: number) => {
    const l = listenFor(port, options.listen);
    try {
      parseListenAddress(l);
    } catch (err) {
      issues.push({ file, line, message: `http_port ${port} with --listen: ${(err as Error).message}` });
      return;
    }
    listen.push(l);
    notes.push(
      `${file}:${line}: http_port ${port} listens on every address in Squid; cuttle never does: ${l}` +
        (options.listen === undefined ? ' (change it, or import with --listen ADDR)' : ' (from --listen)'),
    );
  };

  for (const d of parseSquidConf(text)) {
    const issue = (message: string) => issues.push({ file, line: d.line, message });
    switch (d.name) {
      case 'acl':
        addAclDirective(d, file, acls, issues);
        break;
      case 'http_access': {
        const [action, ...names] = d.args;
        if (action !== 'allow' && action !== 'deny') {
          issue(`http_access needs allow or deny, got '${action ?? ''}'`);
          break;
        }
        if (names.length === 0) {
          issue('http_access without an ACL');
          break;
        }
        const conditions = [];
        for (const raw of names) {
          const negated = raw.startsWith('!');
          const name = negated ? raw.slice(1) : raw;
          const acl: Acl | undefined = acls.get(name);
          if (acl === undefined) issue(`undefined acl '${name}'`);
          else conditions.push({ negated, acl });
        }
        if (conditions.length === names.length)
          access.push({ action, conditions, line: d.line, text: d.args.join(' ') });
        break;
      }
      case 'http_port': {
        const [addr, ...opts] = d.args;
        if (addr === undefined) issue('http_port needs a port');
        else if (opts.length > 0) issue(`unsupported http_port option '${opts[0]}'`);
        else if (/^[0-9]+$/.test(addr)) bare(addr, d.line);
        else if (/^(?:0\.0\.0\.0|\[::\]):[0-9]+$/.test(addr))
          bare(addr.slice(addr.lastIndexOf(':') + 1), d.line);
        else {
          try {
            listen.push(parseListenAddress(addr).text);
          } catch (err) {
            issue(`http_port ${(err as Error).message}`);
          }
        }
        break;
      }
      case 'cache':
        if (d.args.join(' ') !== 'deny all')
          issue(`unsupported directive 'cache ${d.args.join(' ')}' (only 'cache deny all')`);
        break;
      case 'hosts_file':
        if (d.args.length !== 1) issue('hosts_file needs one path');
        else hostsFile = d.args[0];
        break;
      default:
        issue(`unsupported directive '${d.name}'`);
    }
  }
  if (issues.length > 0) throw new SquidImportError(issues);
  if (listen.length === 0) bare('3128', 0);

  const config = buildPolicy(access, file, issues, notes);
  if (issues.length > 0) throw new SquidImportError(issues);
  const full: ConfigInput = { listen, ...config };
  if (options.hosts !== undefined && Object.keys(options.hosts).length > 0) {
    full.dns = { hosts: Object.fromEntries(Object.entries(options.hosts).map(([k, v]) => [k, [...v]])) };
  }
  return { config: full, yamlText: renderImportedYaml(full, file, notes), hostsFile, notes };
}

/**
 * The seed's shape maps onto the simple keys:
 *   deny !PORTS / deny CONNECT !SSL / allow SRC DOMAINS / [deny all]
 * Anything else becomes `rules`, with Squid's implicit final rule written out.
 */
function buildPolicy(
  access: readonly AccessLine[],
  file: string,
  issues: SquidIssue[],
  notes: string[],
): Omit<ConfigInput, 'listen'> {
  const simple = matchSeedShape(access);
  if (simple !== null) return simple;

  const base = file.slice(file.lastIndexOf('/') + 1);
  const rules: Rule[] = [];
  for (const a of access) {
    const rule = accessLineToRule(a, `${base}:${a.line} http_access ${a.text}`, file, issues);
    if (rule !== null) rules.push(rule);
  }
  const last = access[access.length - 1];
  // Squid: with no http_access line everything is denied; otherwise the opposite of the last line's action.
  const finalAction = last === undefined || last.action === 'allow' ? 'deny' : 'allow';
  rules.push({ name: `${base}: implicit final http_access ${finalAction}`, action: finalAction });
  if (rules.some((r) => r.dst !== undefined || r.not_dst !== undefined)) {
    notes.push(
      'Squid `dst` also matches names by resolving them; cuttle rules match `dst` against IP-literal destinations only.',
    );
  }
  const reach = reachablePorts(rules);
  for (const [cls, list] of Object.entries(reach)) {
    if (list === null)
      issues.push({
        file,
        line: last?.line ?? 0,
        message: `Squid would allow ${cls === 'connect' ? 'CONNECT' : 'plain HTTP'} to any port; cuttle needs a port list (add 'http_access deny !Safe_ports' with a port ACL)`,
      });
  }
  notes.push(
    'http_access was converted to `rules` (first match). cuttle checks clients, ports and connect_ports before rules:' +
      ' they are set to every client and to the ports an allow rule can reach, so the rules decide as Squid does.',
  );
  return {
    clients: ['0.0.0.0/0', '::/0'],
    ports: reach.http ?? [],
    connect_ports: reach.connect ?? [],
    allow: [],
    rules,
  };
}

function matchSeedShape(access: readonly AccessLine[]): Omit<ConfigInput, 'listen'> | null {
  if (access.length !== 3 && access.length !== 4) return null;
  const [portLine, connectLine, allowLine, denyAll] = access as [
    AccessLine,
    AccessLine,
    AccessLine,
    AccessLine?,
  ];
  const is = (a: AccessLine, action: string, n: number) => a.action === action && a.conditions.length === n;
  if (!is(portLine, 'deny', 1) || !is(connectLine, 'deny', 2) || !is(allowLine, 'allow', 2)) return null;
  if (
    denyAll !== undefined &&
    !(is(denyAll, 'deny', 1) && denyAll.conditions[0]?.acl.type === 'all' && !denyAll.conditions[0].negated)
  )
    return null;
  const p = portLine.conditions[0];
  if (p === undefined || !p.negated || p.acl.type !== 'port') return null;
  const [c1, c2] = connectLine.conditions as [AccessLine['conditions'][0], AccessLine['conditions'][0]];
  const method = [c1, c2].find((c) => !c.negated && c.acl.type === 'method');
  const ssl = [c1, c2].find((c) => c.negated && c.acl.type === 'port');
  if (method === undefined || ssl === undefined || method.acl.values.join() !== 'CONNECT') return null;
  const [a1, a2] = allowLine.conditions as [AccessLine['conditions'][0], AccessLine['conditions'][0]];
  const src = [a1, a2].find((c) => !c.negated && c.acl.type === 'src');
  const dom = [a1, a2].find((c) => !c.negated && c.acl.type === 'dstdomain');
  if (src === undefined || dom === undefined) return null;
  const ports = [...new Set(p.acl.values as number[])].sort((x, y) => x - y);
  return {
    clients: [...new Set(src.acl.values as string[])],
    ports,
    connect_ports: ports.filter((x) => (ssl.acl.values as number[]).includes(x)),
    allow: [...new Set(dom.acl.values as string[])],
  };
}
