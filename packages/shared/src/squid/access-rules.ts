/**
 * `http_access allow|deny [!]ACL...` lines -> cuttle `rules` (first match, conditions ANDed, `!` as `not_*`), plus
 * the top-level `ports` and `connect_ports` those rules need. cuttle checks `clients`, `ports` and `connect_ports`
 * BEFORE `rules`, so they are set to exactly the ports some allow rule can still reach (see `reachablePorts`), and
 * `clients` to every address; the rules then carry the rest of the logic, in Squid's order.
 */
import type { Rule } from '../config/schema.js';
import type { SquidIssue } from '../errors.js';
import { PortSet } from '../net/port-set.js';
import type { Acl } from './acls.js';

export interface AccessCondition {
  readonly negated: boolean;
  readonly acl: Acl;
}

export interface AccessLine {
  readonly action: 'allow' | 'deny';
  readonly conditions: readonly AccessCondition[];
  readonly file: string;
  readonly line: number;
  /** The directive as written after `http_access`, for the rule's name. */
  readonly text: string;
}

type ListKey = 'clients' | 'domains' | 'dst';
const LIST_KEY: Record<'src' | 'dstdomain' | 'sni' | 'dst', ListKey> = {
  src: 'clients',
  dstdomain: 'domains',
  sni: 'domains',
  dst: 'dst',
};

/** A rule with its port conditions still as sets (turned into `ports`/`not_ports` by `finishRule`). */
export interface DraftRule {
  readonly rule: Rule;
  /** The ports the rule can match. */
  readonly ports: PortSet;
  /** The port conditions were all negated (`!Safe_ports`): written back as `not_ports` on a tie. */
  readonly negatedPorts?: boolean;
}

const ALL = PortSet.all();

/**
 * One http_access line as a cuttle rule, or null when it can never match in cuttle (`!all`, `manager`, ANDed port
 * or method ACLs with nothing in common). ANDing two positive src, dstdomain or dst ACLs has no cuttle form: it is
 * refused.
 */
export function accessLineToRule(a: AccessLine, name: string, issues: SquidIssue[]): DraftRule | null {
  const rule: Rule = { name, action: a.action };
  let ports = ALL;
  let positivePorts = false;
  let methods: Set<string> | undefined;
  const notMethods = new Set<string>();
  const lists: Partial<Record<ListKey, Acl>> = {};
  const notLists: Partial<Record<ListKey, Set<string>>> = {};
  for (const { negated, acl } of a.conditions) {
    switch (acl.kind) {
      case 'all':
        if (negated) return null;
        break;
      case 'manager':
        if (!negated) return null;
        break;
      case 'step':
        issues.push({
          file: a.file,
          line: a.line,
          message: `acl '${acl.name}' (at_step) only means something in ssl_bump lines`,
        });
        return null;
      case 'port':
        ports = negated ? ports.minus(acl.ports) : ports.intersect(acl.ports);
        if (!negated) positivePorts = true;
        break;
      case 'method': {
        const v = [...acl.values.keys()];
        if (negated) for (const m of v) notMethods.add(m);
        else methods = new Set(methods === undefined ? v : v.filter((m) => methods?.has(m)));
        break;
      }
      default: {
        const key = LIST_KEY[acl.kind];
        if (negated) {
          const set = notLists[key] ?? new Set<string>();
          for (const v of acl.values.keys()) set.add(v);
          notLists[key] = set;
        } else if (lists[key] !== undefined && lists[key] !== acl) {
          issues.push({
            file: a.file,
            line: a.line,
            message: `two ${lists[key]?.type} ACLs ANDed in one http_access line ('${lists[key]?.name}' and '${acl.name}') have no cuttle equivalent: merge them into one ACL`,
          });
          return null;
        } else lists[key] = acl;
      }
    }
  }
  if (ports.size === 0) return null;
  if (methods !== undefined) {
    const m = [...methods].filter((x) => !notMethods.has(x));
    if (m.length === 0) return null;
    rule.methods = m;
  } else if (notMethods.size > 0) rule.not_methods = [...notMethods];
  for (const key of ['clients', 'domains', 'dst'] as const) {
    const acl = lists[key];
    if (acl !== undefined) rule[key] = [...acl.values.keys()];
    const not = notLists[key];
    if (not !== undefined) rule[`not_${key}`] = [...not];
  }
  return { rule, ports, negatedPorts: !positivePorts };
}

/** Writes a draft's port set as `ports` (when that is shorter) or `not_ports`. */
export function finishRule(d: DraftRule): Rule {
  if (d.ports.size === 65535) return d.rule;
  const only = d.ports.toSpecs();
  const not = ALL.minus(d.ports).toSpecs();
  const useNot = d.negatedPorts === true ? not.length <= only.length : not.length < only.length;
  return useNot ? { ...d.rule, not_ports: not } : { ...d.rule, ports: only };
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
  Object.keys(r).every((k) => ['name', 'action', 'methods', 'not_methods'].includes(k));

/**
 * For each method class (CONNECT, everything else): the ports some allow rule in `rules` (the last being the
 * implicit final rule) can still reach after every earlier deny that applies to the whole class whatever the
 * client and destination (`deny !Safe_ports`, `deny CONNECT !SSL_ports`). Those become the top-level `ports` and
 * `connect_ports`: a request on another port is denied by Squid too, so checking them first changes nothing.
 */
export function reachablePorts(rules: readonly DraftRule[]): Record<MethodClass, PortSet> {
  const out = {} as Record<MethodClass, PortSet>;
  for (const cls of ['http', 'connect'] as const) {
    let reach = ALL;
    let allowed = new PortSet();
    for (const d of rules) {
      const cover = methodCover(d.rule, cls);
      if (!cover.some) continue;
      if (d.rule.action === 'allow') allowed = allowed.union(reach.intersect(d.ports));
      else if (cover.every && onlyPortsAndMethods(d.rule)) reach = reach.minus(d.ports);
    }
    out[cls] = allowed;
  }
  return out;
}
