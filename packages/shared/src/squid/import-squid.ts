/**
 * squid.conf -> cuttle config. Pure: the text comes in (included files, list files and the hosts file through
 * `options.files`), a config object, its YAML, the warnings and a line-by-line report come out. Every directive is
 * classified by the table in directives.ts; anything that would change who may reach what and has no exact cuttle
 * form is refused with FILE:LINE, never approximated. docs/squid-import.md explains the mapping.
 */
import { parseListenAddress } from '../config/listen-address.js';
import type { ConfigInput, Rule } from '../config/schema.js';
import { SquidImportError, type SquidIssue } from '../errors.js';
import { PortSet } from '../net/port-set.js';
import {
  type AccessCondition,
  type AccessLine,
  accessLineToRule,
  type DraftRule,
  finishRule,
  reachablePorts,
} from './access-rules.js';
import { type Acl, addAclDirective, builtinAcls, dropCoveredNames, EVERY_ADDRESS } from './acls.js';
import { DIRECTIVES } from './directives.js';
import { parseHostsFile } from './hosts-file.js';
import { readSquidConf, type SquidDirective, type SquidFiles } from './read-squid-conf.js';
import { renderImportedYaml } from './render-yaml.js';
import { readCachePeer, readSetting, SettingError, type Settings } from './settings.js';
import { readSslBump, type SslBumpLine, sniAllowlist } from './ssl-bump.js';

/** Options of `importSquid`. */
export interface ImportSquidOptions {
  /** Where a bare `http_port PORT` listens: a full listen address, or a host/interface the port is added to. */
  readonly listen?: string | undefined;
  /** `dns.hosts` already read from the file `hosts_file` names (else it is read through `files`). */
  readonly hosts?: Readonly<Record<string, readonly string[]>> | undefined;
  /** How included files, list files and the hosts file are read (the CLI reads the disk). */
  readonly files?: SquidFiles | undefined;
  /** Directives without meaning for cuttle are errors instead of warnings. */
  readonly strict?: boolean | undefined;
}

/** What became of one directive line, for `import-squid --report`. */
export interface ReportEntry {
  readonly file: string;
  readonly line: number;
  /** The directive as read (comments and continuations removed). */
  readonly text: string;
  readonly outcome: 'mapped' | 'ignored' | 'refused';
  /** The cuttle key it became, or why it was ignored or refused. */
  readonly detail: string;
}

/** The result: the config (as written, defaults not applied), its YAML, warnings, notes and the report. */
export interface ImportedSquid {
  readonly config: ConfigInput;
  readonly yamlText: string;
  readonly hostsFile?: string | undefined;
  /** Notes that also appear as comments in the YAML (how a bare http_port was mapped, Squid differences). */
  readonly notes: readonly string[];
  /** Lines imported with a caveat: printed to stderr by the CLI, each with its file and line. */
  readonly warnings: readonly SquidIssue[];
  readonly report: readonly ReportEntry[];
}

/** Everything an import found, whether or not it succeeded (for `--report` on a refused squid.conf). */
export interface SquidAnalysis {
  readonly imported: ImportedSquid | null;
  readonly issues: readonly SquidIssue[];
  readonly warnings: readonly SquidIssue[];
  readonly report: readonly ReportEntry[];
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

/** http_port options that only configure TLS bumping (accepted with a peek-and-splice ssl_bump). */
const BUMP_OPTION =
  /^(?:ssl-bump|cert=.*|key=.*|tls-cert=.*|tls-key=.*|generate-host-certificates(?:=.*)?|dynamic_cert_mem_cache_size=.*|tls-dh=.*|dhparams=.*|options=.*|cipher=.*|tls-cafile=.*|cafile=.*)$/;
const HARMLESS_PORT_OPTION =
  /^(?:name=.*|tcpkeepalive(?:=.*)?|connection-auth=.*|ignore-cc|act-as-origin|no-connection-auth)$/;

/**
 * Converts squid.conf `text` (read from `file`, used in messages and the header comment). Throws SquidImportError
 * listing every refused line with FILE:LINE.
 */
export function importSquid(text: string, file: string, options: ImportSquidOptions = {}): ImportedSquid {
  const a = analyzeSquid(text, file, options);
  if (a.imported === null) throw new SquidImportError(a.issues);
  return a.imported;
}

/** Like `importSquid`, but returns the issues, warnings and report instead of throwing. */
export function analyzeSquid(text: string, file: string, options: ImportSquidOptions = {}): SquidAnalysis {
  const issues: SquidIssue[] = [];
  const warnings: SquidIssue[] = [];
  const report: ReportEntry[] = [];
  const acls = builtinAcls();
  const access: AccessLine[] = [];
  const bump: SslBumpLine[] = [];
  const listen: string[] = [];
  const notes: string[] = [];
  const settings: Settings = {};
  let hostsFile: string | undefined;
  let hosts = options.hosts;
  let bumpOptions: SquidDirective | undefined;
  let finalAll: AccessLine | undefined;
  const refusedAcls = new Set<string>();

  const bare = (port: string, d: { file: string; line: number }): string | null => {
    const l = listenFor(port, options.listen);
    try {
      parseListenAddress(l);
    } catch (err) {
      issues.push({ ...d, message: `http_port ${port} with --listen: ${(err as Error).message}` });
      return null;
    }
    listen.push(l);
    notes.push(
      `${d.file}:${d.line}: http_port ${port} listens on every address in Squid; cuttle never does: ${l}` +
        (options.listen === undefined ? ' (change it, or import with --listen ADDR)' : ' (from --listen)'),
    );
    return l;
  };

  const directives = readSquidConf(text, file, options.files, issues);
  for (const d of directives) {
    const at = { file: d.file, line: d.line };
    const before = issues.length;
    const beforeWarnings = warnings.length;
    const issue = (message: string): void => void issues.push({ ...at, message });
    const warn = (message: string): void => void warnings.push({ ...at, message });
    let mapped: string | null = null;
    let ignored: string | null = null;
    const cls = DIRECTIVES.get(d.name);
    const ignore = (why: string): string => {
      if (options.strict) issue(`${d.name} has no meaning for cuttle (--strict): ${why}`);
      else warn(`${d.name} ignored: ${why}`);
      return why;
    };
    try {
      switch (d.name) {
        case 'acl':
          mapped = addAclDirective(d, acls, options.files, { issues, warnings });
          if (mapped === null && d.args[0] !== undefined) refusedAcls.add(d.args[0]);
          break;
        case 'http_access': {
          const line = readAccess(d, acls, refusedAcls, issue);
          if (line === null) {
            if (issues.length === before) mapped = 'not imported: it names an ACL refused above';
            break;
          }
          if (finalAll !== undefined) {
            ignored = `never reached: 'http_access ${finalAll.text}' at ${finalAll.file}:${finalAll.line} matches every request first`;
            warn(`http_access ${line.text}: ${ignored}`);
            break;
          }
          access.push(line);
          if (line.conditions.every((c) => c.acl.kind === 'all' && !c.negated)) finalAll = line;
          mapped = 'rules (first match)';
          break;
        }
        case 'http_port':
          mapped = readHttpPort(d, listen, bare, issue, () => {
            bumpOptions = d;
          });
          break;
        case 'hosts_file': {
          if (d.args.length !== 1) {
            issue('hosts_file needs one path');
            break;
          }
          hostsFile = d.args[0] as string;
          if (hosts === undefined && options.files !== undefined) {
            const path = options.files.resolve(hostsFile);
            const t = options.files.read(path);
            if (t === null) issue(`hosts_file ${path}: no such file`);
            else {
              try {
                hosts = parseHostsFile(t, path);
              } catch (err) {
                if (err instanceof SquidImportError) issues.push(...err.issues);
                else throw err;
              }
            }
          }
          mapped = 'dns.hosts';
          break;
        }
        case 'cache_peer':
          mapped = readCachePeer(d, settings).key;
          break;
        case 'never_direct':
          if (d.args.join(' ') === 'allow all') mapped = 'upstream (every request goes to it)';
          else
            issue(
              `never_direct ${d.args.join(' ')}: cuttle sends every request to its upstream or none (only 'never_direct allow all')`,
            );
          break;
        case 'ssl_bump': {
          const b = readSslBump(d, acls, issue);
          if (b !== null) bump.push(b);
          mapped = 'connect.require_sni and a CONNECT rule';
          break;
        }
        case 'cache':
          if (d.args.join(' ') === 'deny all') mapped = 'nothing (cuttle never caches)';
          else ignored = ignore('cuttle caches nothing');
          break;
        case 'http_reply_access':
          if (d.args.join(' ') === 'allow all') mapped = 'nothing (every reply is relayed)';
          break;
        case 'icap_enable':
        case 'ecap_enable':
          if (d.args.join(' ') === 'off') ignored = 'adaptation is off';
          break;
        default: {
          const r = readSetting(d, settings);
          if (r !== null) {
            mapped = r.key;
            if (r.warning !== undefined) warn(r.warning);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      issue(err.message);
    }
    if (mapped === null && ignored === null && issues.length === before) {
      if (cls === undefined) issue(`unknown directive '${d.name}' (Squid 5.7 does not know it either)`);
      else if (cls.kind === 'refused') issue(`${d.name}: ${cls.why}`);
      else if (cls.kind === 'ignored') ignored = ignore(cls.why);
      else issue(`${d.name} ${d.args.join(' ')}: cannot be mapped onto ${cls.key}`);
    }
    const text = [d.name, ...d.args].join(' ');
    const newIssues = issues.slice(before).filter((i) => i.file === d.file && i.line === d.line);
    if (issues.length > before) {
      const detail = (newIssues.length > 0 ? newIssues : issues.slice(before))
        .map((i) => i.message)
        .join('; ');
      report.push({ ...at, text, outcome: 'refused', detail });
    } else if (ignored !== null) report.push({ ...at, text, outcome: 'ignored', detail: ignored });
    else {
      const w = warnings.slice(beforeWarnings).map((x) => x.message);
      report.push({
        ...at,
        text,
        outcome: 'mapped',
        detail: [mapped ?? '', ...w].filter(Boolean).join('; '),
      });
    }
  }
  for (const acl of acls.values()) dropCoveredNames(acl, { issues, warnings });
  if (bumpOptions !== undefined && bump.length === 0)
    issues.push({
      file: bumpOptions.file,
      line: bumpOptions.line,
      message: 'http_port ssl-bump without ssl_bump lines: cuttle does not bump TLS',
    });
  if (listen.length === 0 && issues.length === 0) bare('3128', { file, line: 0 });
  if (issues.length > 0) return { imported: null, issues, warnings, report };

  const policy = buildPolicy(access, sniAllowlist(bump, issues), file, issues, warnings, notes);
  if (issues.length > 0) return { imported: null, issues, warnings, report };
  const full: ConfigInput = { listen, ...policy };
  if (hosts !== undefined && Object.keys(hosts).length > 0)
    full.dns = { hosts: Object.fromEntries(Object.entries(hosts).map(([k, v]) => [k, [...v]])) };
  if (settings.dns !== undefined) full.dns = { ...full.dns, ...settings.dns };
  if (settings.upstream !== undefined) full.upstream = settings.upstream;
  if (settings.forwarded !== undefined) full.forwarded = settings.forwarded;
  if (settings.timeouts !== undefined) full.timeouts = settings.timeouts;
  if (settings.limits !== undefined) full.limits = settings.limits;
  if (settings.log !== undefined) full.log = settings.log;
  describeAccess(report, full.rules);
  const yamlText = renderImportedYaml(full, file, notes, full.rules === undefined ? seedSources(access) : {});
  return {
    imported: { config: full, yamlText, hostsFile, notes, warnings, report },
    issues,
    warnings,
    report,
  };
}

/** Names, in the report, the rule each http_access line became (or the simple keys, or that it was dropped). */
function describeAccess(report: ReportEntry[], rules: readonly Rule[] | undefined): void {
  for (const [i, e] of report.entries()) {
    if (e.outcome !== 'mapped' || !e.text.startsWith('http_access ')) continue;
    const name = `${baseName(e.file)}:${e.line} ${e.text}`;
    const detail =
      rules === undefined
        ? 'clients, ports, connect_ports, allow (the simple keys)'
        : rules.some((r) => r.name === name)
          ? `rules: "${name}"`
          : 'dropped: can never match in cuttle (!all, manager, or port/method ACLs with nothing in common)';
    report[i] = { ...e, detail };
  }
}

function readAccess(
  d: SquidDirective,
  acls: Map<string, Acl>,
  refused: ReadonlySet<string>,
  issue: (m: string) => void,
): AccessLine | null {
  const [action, ...names] = d.args;
  if (action !== 'allow' && action !== 'deny') {
    issue(`http_access needs allow or deny, got '${action ?? ''}'`);
    return null;
  }
  if (names.length === 0) {
    issue('http_access without an ACL');
    return null;
  }
  const conditions: AccessCondition[] = [];
  for (const raw of names) {
    const negated = raw.startsWith('!');
    const name = negated ? raw.slice(1) : raw;
    const acl = acls.get(name);
    // An ACL refused on its own line is reported there, not again as undefined.
    if (acl === undefined && !refused.has(name)) issue(`undefined acl '${name}'`);
    else if (acl !== undefined) conditions.push({ negated, acl });
  }
  if (conditions.length !== names.length) return null;
  return { action, conditions, file: d.file, line: d.line, text: d.args.join(' ') };
}

function readHttpPort(
  d: SquidDirective,
  listen: string[],
  bare: (port: string, at: SquidDirective) => string | null,
  issue: (m: string) => void,
  sawBump: () => void,
): string | null {
  const [addr, ...opts] = d.args;
  if (addr === undefined) {
    issue('http_port needs a port');
    return null;
  }
  for (const o of opts) {
    if (o === 'intercept' || o === 'transparent' || o === 'tproxy') {
      issue(
        `http_port ${o}: a transparent (intercepting) proxy; cuttle is an explicit proxy that clients name in http_proxy/https_proxy (docs/squid-import.md)`,
      );
      return null;
    }
    if (o === 'accel' || o === 'vhost' || o.startsWith('defaultsite=')) {
      issue(`http_port ${o}: a reverse proxy (accelerator); cuttle is a forward proxy`);
      return null;
    }
    if (o === 'require-proxy-header') {
      issue('http_port require-proxy-header: cuttle takes direct client connections, not the PROXY protocol');
      return null;
    }
    if (BUMP_OPTION.test(o)) sawBump();
    else if (!HARMLESS_PORT_OPTION.test(o)) {
      issue(`unsupported http_port option '${o}'`);
      return null;
    }
  }
  if (/^[0-9]+$/.test(addr)) return bare(addr, d);
  if (/^(?:0\.0\.0\.0|\[::\]):[0-9]+$/.test(addr)) return bare(addr.slice(addr.lastIndexOf(':') + 1), d);
  try {
    const l = parseListenAddress(addr).text;
    listen.push(l);
    return `listen ${l}`;
  } catch (err) {
    issue(`http_port ${(err as Error).message}`);
    return null;
  }
}

/**
 * The seed's shape maps onto the simple keys:
 *   deny !PORTS / deny CONNECT !SSL / allow SRC DOMAINS / [deny all]
 * Anything else becomes `rules`, with Squid's implicit final rule written out.
 */
function buildPolicy(
  access: readonly AccessLine[],
  sni: ReturnType<typeof sniAllowlist>,
  file: string,
  issues: SquidIssue[],
  warnings: SquidIssue[],
  notes: string[],
): Omit<ConfigInput, 'listen'> {
  if (sni !== undefined) {
    notes.push(
      'ssl_bump peek + splice is an SNI allowlist: cuttle checks that the TLS SNI names the CONNECT host (connect.require_sni) and denies CONNECT to other names first.',
    );
  }
  if (sni?.names === undefined || sni.names === null) {
    const simple = matchSeedShape(access);
    if (simple !== null) return simple;
  }
  const base = baseName(file);
  const drafts: DraftRule[] = [];
  if (sni !== undefined && sni.names !== null) {
    drafts.push({
      rule: {
        name: `${baseName(sni.file)}:${sni.line} ssl_bump ${sni.text} (SNI allowlist)`,
        action: 'deny',
        methods: ['CONNECT'],
        not_domains: sni.names,
      },
      ports: PORTS_ALL,
    });
  }
  for (const a of access) {
    const d = accessLineToRule(a, `${baseName(a.file)}:${a.line} http_access ${a.text}`, issues);
    if (d !== null) drafts.push(d);
  }
  const last = access[access.length - 1];
  // Squid: with no http_access line everything is denied; otherwise the opposite of the last line's action.
  const finalAction = last === undefined || last.action === 'allow' ? 'deny' : 'allow';
  drafts.push({
    rule: { name: `${base}: implicit final http_access ${finalAction}`, action: finalAction },
    ports: PORTS_ALL,
  });
  const rules: Rule[] = drafts.map(finishRule);
  if (rules.some((r) => r.dst !== undefined || r.not_dst !== undefined)) {
    notes.push(
      'Squid `dst` also matches names by resolving them; cuttle rules match `dst` against IP-literal destinations only.',
    );
  }
  if (access.some((a) => a.conditions.some((c) => c.acl.kind === 'manager'))) {
    notes.push(
      "Squid's `manager` ACL matches cache-manager URLs; cuttle has no cache manager, so lines naming it never match (metrics are on metrics.listen).",
    );
  }
  const reach = reachablePorts(drafts);
  for (const [cls, set] of Object.entries(reach)) {
    if (set.size === 65535) {
      const line = access.find((a) => a.action === 'allow') ?? last;
      warnings.push({
        file: line?.file ?? file,
        line: line?.line ?? 0,
        message: `Squid allows ${cls === 'connect' ? 'CONNECT' : 'plain HTTP'} to EVERY port here (no port ACL denies the rest): imported faithfully as ${cls === 'connect' ? 'connect_ports' : 'ports'}: ["1-65535"]; add 'http_access deny !Safe_ports' to narrow it`,
      });
    }
  }
  notes.push(
    'http_access was converted to `rules` (first match). cuttle checks clients, ports and connect_ports before rules:' +
      ' they are set to every client and to the ports an allow rule can reach, so the rules decide as Squid does.',
  );
  return {
    clients: [...EVERY_ADDRESS],
    ports: reach.http.toSpecs(),
    connect_ports: reach.connect.toSpecs(),
    allow: [],
    rules,
  };
}

const PORTS_ALL = PortSet.all();
const baseName = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

/** For the simple keys: the squid.conf lines each came from (the rules form names its lines in the rules). */
function seedSources(access: readonly AccessLine[]): Record<string, string> {
  const at = (a: AccessLine | undefined): string =>
    a === undefined ? '' : `${baseName(a.file)}:${a.line} http_access ${a.text}`;
  const [ports, connect, allow] = access;
  return {
    clients: at(allow),
    ports: at(ports),
    connect_ports: `${at(ports)}; ${at(connect)}`,
    allow: at(allow),
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
    !(is(denyAll, 'deny', 1) && denyAll.conditions[0]?.acl.kind === 'all' && !denyAll.conditions[0].negated)
  )
    return null;
  const p = portLine.conditions[0];
  if (p === undefined || !p.negated || p.acl.kind !== 'port') return null;
  const [c1, c2] = connectLine.conditions as [AccessCondition, AccessCondition];
  const method = [c1, c2].find((c) => !c.negated && c.acl.kind === 'method');
  const ssl = [c1, c2].find((c) => c.negated && c.acl.kind === 'port');
  if (method === undefined || ssl === undefined || [...method.acl.values.keys()].join() !== 'CONNECT')
    return null;
  const [a1, a2] = allowLine.conditions as [AccessCondition, AccessCondition];
  const src = [a1, a2].find((c) => !c.negated && c.acl.kind === 'src');
  const dom = [a1, a2].find((c) => !c.negated && c.acl.kind === 'dstdomain');
  if (src === undefined || dom === undefined) return null;
  return {
    clients: [...src.acl.values.keys()],
    ports: p.acl.ports.toSpecs(),
    connect_ports: p.acl.ports.intersect(ssl.acl.ports).toSpecs(),
    allow: [...dom.acl.values.keys()],
  };
}
