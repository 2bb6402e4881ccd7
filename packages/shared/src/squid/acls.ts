/**
 * `acl NAME TYPE [flags] VALUE...` -> typed value sets, accumulated over every line that names the ACL (Squid ORs
 * the values of one ACL; a line of the same type extends it, built-ins included). Values come from the line or
 * from list files (`"/path"`, one value per line). Types cuttle can express: port, src, dst, dstdomain,
 * dstdom_regex (when the translation is exact), method, ssl::server_name; the rest are refused with what to do
 * instead.
 */

import { validateDomainPattern } from '../config/validators.js';
import type { SquidIssue } from '../errors.js';
import { PortSet } from '../net/port-set.js';
import { EVERY_ADDRESS, squidAddressToRanges } from './addresses.js';
import { translateDstdomRegex } from './dstdom-regex.js';
import { readListFile, type SquidDirective, type SquidFiles } from './read-squid-conf.js';

/** What an ACL means to cuttle. `manager` (the cache manager's URLs) never matches: cuttle has none. */
export type AclKind = 'all' | 'port' | 'src' | 'dst' | 'dstdomain' | 'sni' | 'method' | 'manager' | 'step';

/** Where a value was read: the squid.conf line, or the list file's line. */
export interface Where {
  readonly file: string;
  readonly line: number;
}

/** An ACL's values in the form cuttle's keys take them. */
export interface Acl {
  readonly name: string;
  readonly kind: AclKind;
  /** The Squid type as written (`dstdom_regex`, `ssl::server_name`, ...). */
  readonly type: string;
  /** For `port`. */
  readonly ports: PortSet;
  /** Ranges, name patterns or methods (insertion order, no duplicates), each with where it was read. */
  readonly values: Map<string, Where>;
  readonly file: string;
  /** 0 for a built-in. */
  readonly line: number;
}

const KIND_OF: Readonly<Record<string, AclKind>> = {
  port: 'port',
  src: 'src',
  dst: 'dst',
  dstdomain: 'dstdomain',
  dstdom_regex: 'dstdomain',
  method: 'method',
  'ssl::server_name': 'sni',
  at_step: 'step',
};

/** What to do instead, for ACL types that change who may reach what and have no cuttle form. */
export const REFUSED_ACL_TYPES: Readonly<Record<string, string>> = {
  proxy_auth: 'cuttle has no proxy authentication: allow by client address (src) or container identity',
  proxy_auth_regex: 'cuttle has no proxy authentication: allow by client address (src) or container identity',
  external: 'cuttle calls no external helper: list the clients or names the helper would allow',
  ext_user: 'cuttle calls no external helper: list the clients or names the helper would allow',
  url_regex: 'cuttle decides on host and port, never on the path: use dstdomain names',
  urlpath_regex: 'cuttle decides on host and port, never on the path: use dstdomain names',
  urllogin: 'cuttle decides on host and port, never on the URL: use dstdomain names',
  time: 'cuttle has no time-of-day rules: schedule config reloads instead',
  srcdomain: 'cuttle never reverse-resolves clients: use src ranges',
  srcdom_regex: 'cuttle never reverse-resolves clients: use src ranges',
  dst_as: 'cuttle has no AS lookups: list the ranges with dst',
  src_as: 'cuttle has no AS lookups: list the ranges with src',
  arp: 'cuttle does not match MAC addresses: use src ranges (LXD MAC filtering keeps them honest)',
  eui64: 'cuttle does not match MAC addresses: use src ranges',
  browser: 'cuttle does not match request headers',
  req_header: 'cuttle does not match request headers',
  rep_header: 'cuttle does not match response headers',
  req_mime_type: 'cuttle does not match content types',
  rep_mime_type: 'cuttle does not match content types',
  referer_regex: 'cuttle does not match request headers',
  http_status: 'cuttle decides before any response',
  maxconn: 'use limits.max_connections_per_client',
  max_user_ip: 'cuttle has no users',
  ident: 'cuttle does no ident lookups',
  ident_regex: 'cuttle does no ident lookups',
  proto: 'cuttle takes http:// requests and CONNECT only: drop the proto condition',
  localport: 'cuttle gives every listener the same policy: run one cuttle per policy',
  myportname: 'cuttle gives every listener the same policy: run one cuttle per policy',
  myip: 'cuttle gives every listener the same policy: run one cuttle per policy',
  localip: 'cuttle gives every listener the same policy: run one cuttle per policy',
  peername: 'cuttle has one upstream for every request',
  peername_regex: 'cuttle has one upstream for every request',
  ssl_error: 'cuttle does not bump TLS',
  server_cert_fingerprint: 'cuttle does not bump TLS',
  user_cert: 'cuttle does not bump TLS',
  ca_cert: 'cuttle does not bump TLS',
  'ssl::server_name_regex': 'use ssl::server_name with names',
  note: 'cuttle has no annotations',
  adaptation_service: 'cuttle runs no adaptation services',
  squid_error: 'cuttle does not match errors',
  connections_encrypted: 'cuttle does not bump TLS',
  any_of: 'write one http_access line per alternative',
  all_of: 'list the ACLs on one http_access line (they are ANDed)',
  random: 'cuttle does not decide at random',
  transaction_initiator: 'cuttle serves clients only',
  has: 'cuttle does not match request components',
  hier_code: 'cuttle decides before forwarding',
  tag: 'cuttle has no tags',
};

function builtin(name: string, kind: AclKind, type: string, values: string[]): Acl {
  const at: Where = { file: '(built in)', line: 0 };
  return {
    name,
    kind,
    type,
    ports: new PortSet(),
    values: new Map(values.map((v) => [v, at])),
    file: '',
    line: 0,
  };
}

/** Squid 5.7's predefined ACLs. */
export function builtinAcls(): Map<string, Acl> {
  return new Map<string, Acl>([
    ['all', builtin('all', 'all', 'src', [])],
    ['manager', builtin('manager', 'manager', 'url_regex', [])],
    ['localhost', builtin('localhost', 'src', 'src', ['127.0.0.1/32', '::1/128'])],
    [
      'to_localhost',
      builtin('to_localhost', 'dst', 'dst', ['127.0.0.0/8', '0.0.0.0/32', '::1/128', '::/128']),
    ],
    ['CONNECT', builtin('CONNECT', 'method', 'method', ['CONNECT'])],
  ]);
}

/** Where ACL parsing reports to. */
export interface AclSink {
  readonly issues: SquidIssue[];
  readonly warnings: SquidIssue[];
}

const FLAGS: Readonly<Record<string, readonly string[]>> = {
  dstdomain: ['-n'],
  dstdom_regex: ['-i', '+i', '-n'],
  'ssl::server_name': [],
};

/**
 * Adds one `acl` directive to `acls`. Returns what the line did, for the report (`null`: refused, the reason is in
 * `sink.issues`).
 */
export function addAclDirective(
  d: SquidDirective,
  acls: Map<string, Acl>,
  files: SquidFiles | undefined,
  sink: AclSink,
): string | null {
  const before = sink.issues.length;
  const issue = (message: string, file = d.file, line = d.line): void => {
    sink.issues.push({ file, line, message });
  };
  const [name, type, ...rest] = d.args;
  if (name === undefined || type === undefined) {
    issue('acl needs a name, a type and values');
    return null;
  }
  const existing = acls.get(name);
  // `acl manager proto cache_object` is how Squid 3 defined the built-in: the same meaning.
  if (name === 'manager' && type === 'proto' && rest.join(' ') === 'cache_object')
    return 'the built-in manager';
  if (name === 'all') {
    if (type === 'src' && rest.every((v) => v === 'all')) return 'the built-in all';
    issue("acl 'all' is built in as 'src all' and cannot be redefined");
    return null;
  }
  const refused = REFUSED_ACL_TYPES[type];
  if (refused !== undefined) {
    issue(`acl type '${type}' has no cuttle equivalent: ${refused}`);
    return null;
  }
  const kind = KIND_OF[type];
  if (kind === undefined) {
    issue(`unknown acl type '${type}'`);
    return null;
  }
  if (existing !== undefined && existing.type !== type) {
    issue(
      existing.line === 0
        ? `acl '${name}' is built in as type '${existing.type}'; a '${type}' line cannot extend it`
        : `acl '${name}' was defined as type '${existing.type}' at ${existing.file}:${existing.line}`,
    );
    return null;
  }
  const allowed = FLAGS[type] ?? [];
  let caseless = false;
  const values: { value: string; file: string; line: number }[] = [];
  for (const v of rest) {
    if (v.startsWith('-') && !/^-?[0-9]/.test(v)) {
      if (!allowed.includes(v)) issue(`unsupported acl option '${v}' for type '${type}'`);
      if (v === '-i') caseless = true;
      continue;
    }
    if (v === '+i') {
      caseless = false;
      continue;
    }
    if (v.startsWith('"') && v.endsWith('"') && v.length > 2) {
      const written = v.slice(1, -1);
      if (files === undefined) {
        issue(`acl '${name}': list file ${written} cannot be read by this import`);
        continue;
      }
      const path = files.resolve(written);
      const text = files.read(path);
      if (text === null) {
        issue(
          `acl '${name}': list file ${path} does not exist (Squid would load an empty ACL and change the policy silently)`,
        );
        continue;
      }
      for (const e of readListFile(text)) values.push({ value: e.value, file: path, line: e.line });
      continue;
    }
    values.push({ value: v, file: d.file, line: d.line });
  }
  if (sink.issues.length > before) return null;
  if (values.length === 0 && existing === undefined) {
    issue(`acl '${name}' has no values`);
    return null;
  }
  const acl: Acl = existing ?? {
    name,
    kind,
    type,
    ports: new PortSet(),
    values: new Map(),
    file: d.file,
    line: d.line,
  };
  for (const v of values) addValue(acl, v.value, caseless, (m) => issue(m, v.file, v.line), sink, v);
  acls.set(name, acl);
  if (sink.issues.length > before) return null;
  return `acl ${name} (${type}): ${values.length} value${values.length === 1 ? '' : 's'}${existing === undefined ? '' : ', added'}`;
}

function addValue(
  acl: Acl,
  value: string,
  caseless: boolean,
  issue: (m: string) => void,
  sink: AclSink,
  at: Where,
): void {
  switch (acl.kind) {
    case 'port': {
      const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(value);
      const lo = Number(m?.[1]);
      const hi = m?.[2] === undefined ? lo : Number(m[2]);
      if (m === null || hi > 65535 || hi < lo || hi < 1) {
        issue(`invalid port "${value}" (1-65535, or a range LOW-HIGH)`);
        return;
      }
      acl.ports.addRange(Math.max(lo, 1), hi);
      return;
    }
    case 'src':
    case 'dst': {
      const r = squidAddressToRanges(value);
      if ('error' in r) {
        issue(`invalid address or range: ${r.error}`);
        return;
      }
      if (r.warning !== undefined) sink.warnings.push({ ...at, message: r.warning });
      for (const x of r.ranges) if (!acl.values.has(x)) acl.values.set(x, at);
      return;
    }
    case 'dstdomain':
    case 'sni': {
      let pattern = value.toLowerCase();
      if (acl.type === 'dstdom_regex') {
        const t = translateDstdomRegex(value, caseless);
        if (t === null) {
          issue(
            `dstdom_regex '${value}' has no exact cuttle pattern: list the names in a dstdomain ACL (docs/squid-import.md says which regexes translate)`,
          );
          return;
        }
        pattern = t;
      } else if (value.includes('*')) {
        issue(`"${value}": Squid ${acl.type} has no wildcards`);
        return;
      }
      const err = validateDomainPattern(pattern);
      if (err !== null) {
        issue(err);
        return;
      }
      if (!acl.values.has(pattern)) acl.values.set(pattern, at);
      return;
    }
    case 'step':
      if (!/^SslBump[123]$/.test(value)) {
        issue(`invalid at_step "${value}" (SslBump1, SslBump2 or SslBump3)`);
        return;
      }
      if (!acl.values.has(value)) acl.values.set(value, at);
      return;
    case 'method':
      if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(value)) {
        issue(`invalid method "${value}"`);
        return;
      }
      if (!acl.values.has(value.toUpperCase())) acl.values.set(value.toUpperCase(), at);
      return;
    default:
      return;
  }
}

/**
 * Squid 5.7 stops on `x.test` and `.x.test` in one dstdomain ACL ("is a subdomain of"): an allowlist that grew
 * both forms. The wider `.x.test` already matches `x.test` and its subdomains, so the narrower entries are dropped
 * with a warning, which changes no decision.
 */
export function dropCoveredNames(acl: Acl, sink: AclSink): void {
  if (acl.kind !== 'dstdomain' && acl.kind !== 'sni') return;
  const wide = new Set<string>();
  for (const v of acl.values.keys()) if (v.startsWith('.')) wide.add(v);
  if (wide.size === 0) return;
  for (const [v, at] of [...acl.values]) {
    const name = v.startsWith('.') ? v.slice(1) : v;
    let rest = v.startsWith('.') ? name : `.${name}`;
    let cover: string | undefined;
    if (!v.startsWith('.') && wide.has(rest)) cover = rest;
    while (cover === undefined) {
      const dot = rest.indexOf('.', 1);
      if (dot === -1) break;
      rest = rest.slice(dot);
      if (wide.has(rest)) cover = rest;
    }
    if (cover !== undefined && cover !== v) {
      acl.values.delete(v);
      sink.warnings.push({
        ...at,
        message: `acl '${acl.name}': '${v}' is already matched by '${cover}' (Squid 5.7 refuses both in one ACL); kept '${cover}'`,
      });
    }
  }
}

export { EVERY_ADDRESS };
