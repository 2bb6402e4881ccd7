/**
 * `acl NAME TYPE [flags] VALUE...` -> typed value sets, accumulated over every line that names the ACL (Squid
 * ORs the values of one ACL). Supported types: port, src, dstdomain (`-n` accepted: it only turns off reverse DNS,
 * which cuttle never does), dst, method. Built in, as in Squid 4 and later: `all` (everything), `CONNECT`
 * (method CONNECT), `localhost` (src 127.0.0.1/32 ::1/128).
 */
import type { SquidIssue } from '../errors.js';
import { validateAddressRange } from '../net/cidr.js';
import { validateDomainPattern } from '../policy/compile-policy.js';
import type { SquidDirective } from './parse-squid-conf.js';

export type AclType = 'port' | 'src' | 'dstdomain' | 'dst' | 'method' | 'all';

/** An ACL's values, in the form cuttle's keys take them. */
export interface Acl {
  readonly name: string;
  readonly type: AclType;
  /** Ports as numbers for `port`; ranges, names or methods as text otherwise; empty for `all`. */
  readonly values: (string | number)[];
  readonly line: number;
}

const SUPPORTED: ReadonlySet<string> = new Set(['port', 'src', 'dstdomain', 'dst', 'method']);
/** Widest port range expanded into a list (cuttle lists ports; `1025-65535` would be 64k entries). */
export const MAX_PORT_RANGE = 1024;
const EVERY_ADDRESS = ['0.0.0.0/0', '::/0'];

/** The ACLs every squid.conf can use without defining them. */
export function builtinAcls(): Map<string, Acl> {
  return new Map<string, Acl>([
    ['all', { name: 'all', type: 'all', values: [], line: 0 }],
    ['CONNECT', { name: 'CONNECT', type: 'method', values: ['CONNECT'], line: 0 }],
    ['localhost', { name: 'localhost', type: 'src', values: ['127.0.0.1/32', '::1/128'], line: 0 }],
  ]);
}

function parseValue(type: AclType, value: string, issue: (m: string) => void): (string | number)[] {
  if (value.startsWith('"')) {
    issue(`ACL values read from a file (${value}) are not supported: list them in squid.conf`);
    return [];
  }
  switch (type) {
    case 'port': {
      const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(value);
      const lo = Number(m?.[1]);
      const hi = m?.[2] === undefined ? lo : Number(m[2]);
      if (m === null || lo < 1 || hi > 65535 || hi < lo) {
        issue(`invalid port "${value}" (1-65535, or a range LOW-HIGH)`);
        return [];
      }
      if (hi - lo + 1 > MAX_PORT_RANGE) {
        issue(
          `port range "${value}" is wider than ${MAX_PORT_RANGE} ports: cuttle lists ports, list the ones needed`,
        );
        return [];
      }
      return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    }
    case 'src':
    case 'dst': {
      if (value === 'all') return [...EVERY_ADDRESS];
      const err = validateAddressRange(value);
      if (err !== null) issue(`invalid address or range: ${err}`);
      return err === null ? [value] : [];
    }
    case 'dstdomain': {
      if (value.includes('*')) {
        issue(`"${value}": Squid dstdomain has no wildcards`);
        return [];
      }
      const err = validateDomainPattern(value);
      if (err !== null) issue(err);
      return err === null ? [value] : [];
    }
    case 'method':
      if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(value)) {
        issue(`invalid method "${value}"`);
        return [];
      }
      return [value.toUpperCase()];
    default:
      return [];
  }
}

/** Adds one `acl` directive to `acls`, recording problems in `issues`. */
export function addAclDirective(
  d: SquidDirective,
  file: string,
  acls: Map<string, Acl>,
  issues: SquidIssue[],
): void {
  const issue = (message: string): void => {
    issues.push({ file, line: d.line, message });
  };
  const [name, type, ...rest] = d.args;
  if (name === undefined || type === undefined) return void issue('acl needs a name, a type and values');
  let values = rest;
  if (type === 'dstdomain') values = values.filter((v) => v !== '-n');
  const flag = values.find((v) => v.startsWith('-'));
  if (flag !== undefined) return void issue(`unsupported acl option '${flag}' for type '${type}'`);
  const existing = acls.get(name);
  if (name === 'all' && type === 'src' && values.every((v) => v === 'all' || EVERY_ADDRESS.includes(v)))
    return;
  if (!SUPPORTED.has(type)) return void issue(`unsupported acl type '${type}'`);
  if (values.length === 0) return void issue(`acl '${name}' has no values`);
  if (existing !== undefined && (existing.line === 0 || existing.type !== type)) {
    return void issue(
      existing.line === 0
        ? `acl '${name}' is built in and cannot be redefined`
        : `acl '${name}' was defined as type '${existing.type}' on line ${existing.line}`,
    );
  }
  const acl = existing ?? { name, type: type as AclType, values: [], line: d.line };
  for (const v of values) acl.values.push(...parseValue(acl.type, v, issue));
  acls.set(name, acl);
}
