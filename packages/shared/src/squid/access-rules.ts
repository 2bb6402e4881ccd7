/**
 * `http_access allow|deny [!]ACL...` lines -> cuttle `rules` (first match, conditions ANDed, `!` as `not_*`), plus
 * the top-level `ports` and `connect_ports` those rules need. cuttle checks `clients`, `ports` and `connect_ports`
 * BEFORE `rules`, so they are set to exactly the ports some allow rule can still reach (see `reachablePorts`), and
 * `clients` to every address; the rules then carry the rest of the logic, in Squid's order.
 */

import type { Rule } from '../config/schema.js';
import type { SquidIssue } from '../errors.js';
import type { Acl } from './acls.js';

export interface AccessCondition {
  readonly negated: boolean;
  readonly acl: Acl;
}

export interface AccessLine {
  readonly action: 'allow' | 'deny';
  readonly conditions: readonly AccessCondition[];
  readonly line: number;
  /** The directive as written after `http_access`, for the rule's name. */
  readonly text: string;
}

const intersect = <T>(a: readonly T[], b: readonly T[]): T[] => a.filter((x) => b.includes(x));
const union = <T>(a: readonly T[], b: readonly T[]): T[] => [...a, ...b.filter((x) => !a.includes(x))];

type ListKey = 'clients' | 'domains' | 'dst';
const LIST_KEY: Record<'src' | 'dstdomain' | 'dst', ListKey> = {
  src: 'clients',
  dstdomain: 'domains',
  dst: 'dst',
};

/**
 * One http_access line as a cuttle rule, or null when it can never match (`!all`, or ANDed port or method ACLs
 * with nothing in common). ANDing two positive src, dstdomain or dst ACLs has no cuttle form: it is refused.
 */
export function accessLineToRule(
  a: AccessLine,
  name: string,
  file: string,
  issues: SquidIssue[],
): Rule | null {
  const rule: Rule = { name, action: a.action };
  let ports: number[] | undefined;
  let notPorts: number[] = [];
  let methods: string[] | undefined;
  let notMethods: string[] = [];
  for (const { negated, acl } of a.conditions) {
    switch (acl.type) {
      case 'all':
        if (negated) return null;
        break;
      case 'port': {
        const v = acl.values as number[];
        if (negated) notPorts = union(notPorts, v);
        else ports = ports === undefined ? [...v] : intersect(ports, v);
        break;
      }
      case 'method': {
        const v = acl.values as string[];
        if (negated) notMethods = union(notMethods, v);
        else methods = methods === undefined ? [...v] : intersect(methods, v);
        break;
      }
      default: {
        const key = LIST_KEY[acl.type];
        const v = acl.values as string[];
        if (negated) rule[`not_${key}`] = union(rule[`not_${key}`] ?? [], v);
        else if (rule[key] !== undefined) {
          issues.push({
            file,
            line: a.line,
            message: `two ${acl.type} ACLs ANDed in one http_access line have no cuttle equivalent: merge them into one ACL`,
          });
          return null;
        } else rule[key] = [...v];
      }
    }
  }
  if (ports !== undefined) {
    ports = ports.filter((p) => !notPorts.includes(p));
    if (ports.length === 0) return null;
    rule.ports = ports;
  } else if (notPorts.length > 0) rule.not_ports = notPorts;
  if (methods !== undefined) {
    methods = methods.filter((m) => !notMethods.includes(m));
    if (methods.length === 0) return null;
    rule.methods = methods;
  } else if (notMethods.length > 0) rule.not_methods = notMethods;
  return rule;
}

/** A set of ports 1-65535: either the listed ones, or every port except the listed ones. */
interface PortSet {
  readonly only: boolean;
  readonly list: ReadonlySet<number>;
}
const ALL_PORTS: PortSet = { only: false, list: new Set() };

function portsOf(rule: Rule): PortSet {
  if (rule.ports !== undefined) return { only: true, list: new Set(rule.ports) };
  if (rule.not_ports !== undefined) return { only: false, list: new Set(rule.not_ports) };
  return ALL_PORTS;
}
function meet(a: PortSet, b: PortSet): PortSet {
  if (a.only && b.only) return { only: true, list: new Set([...a.list].filter((p) => b.list.has(p))) };
  if (a.only) return { only: true, list: new Set([...a.list].filter((p) => !b.list.has(p))) };
  if (b.only) return meet(b, a);
  return { only: false, list: new Set([...a.list, ...b.list]) };
}
function join(a: PortSet, b: PortSet): PortSet {
  if (a.only && b.only) return { only: true, list: new Set([...a.list, ...b.list]) };
  if (a.only) return join(b, a);
  if (b.only) return { only: false, list: new Set([...a.list].filter((p) => !b.list.has(p))) };
  return { only: false, list: new Set([...a.list].filter((p) => b.list.has(p))) };
}
function minus(a: PortSet, b: PortSet): PortSet {
  return meet(a, { only: !b.only, list: b.list });
}

type MethodClass = 'http' | 'connect';

/** Does `rule` match some request of `cls`, and does it match every request of `cls` as far as methods go? */
function methodCover(rule: Rule, cls: MethodClass): { some: boolean; every: boolean } {
  const m = rule.methods;
  const not = rule.not_methods ?? [];
  if (cls === 'connect') {
    const some = (m === undefined || m.includes('CONNECT')) && !not.includes('CONNECT');
    return { some, every: some };
  }
  const some = m === undefined || m.some((x) => x !== 'CONNECT');
  return { some, every: m === undefined && not.every((x) => x === 'CONNECT') };
}

const onlyPortsAndMethods = (r: Rule): boolean =>
  Object.keys(r).every((k) => ['name', 'action', 'ports', 'not_ports', 'methods', 'not_methods'].includes(k));

/**
 * For each method class (CONNECT, everything else): the ports some allow rule in `rules` (the last being the
 * implicit final rule) can still reach after every earlier deny that applies to the whole class whatever the
 * client and destination (`deny !Safe_ports`, `deny CONNECT !SSL_ports`). Those become the top-level `ports` and
 * `connect_ports`: a request on another port is denied by Squid too, so checking them first changes nothing.
 * Returns null for a class whose reachable set is unbounded (an allow with no port restriction).
 */
export function reachablePorts(rules: readonly Rule[]): Record<MethodClass, number[] | null> {
  const out = {} as Record<MethodClass, number[] | null>;
  for (const cls of ['http', 'connect'] as const) {
    let reach = ALL_PORTS;
    let allowed: PortSet = { only: true, list: new Set() };
    for (const rule of rules) {
      const cover = methodCover(rule, cls);
      if (!cover.some) continue;
      if (rule.action === 'allow') allowed = join(allowed, meet(reach, portsOf(rule)));
      else if (cover.every && onlyPortsAndMethods(rule)) reach = minus(reach, portsOf(rule));
    }
    out[cls] = allowed.only ? [...allowed.list].sort((x, y) => x - y) : null;
  }
  return out;
}
