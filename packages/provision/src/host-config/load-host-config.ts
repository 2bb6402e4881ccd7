/**
 * host.yaml text -> validated, frozen HostConfig. Every problem (YAML syntax, duplicate keys, unknown keys, schema)
 * is collected and reported through one ConfigError as `FILE:LINE:COL: KEY: message`, like the proxy's config.
 * shared's loadConfig is bound to the proxy's schema, so the YAML-with-positions part is repeated here, small.
 */
import { ConfigError, type ConfigIssue, formatKeyPath } from '@cuttle/shared';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type HostConfig, hostConfigSchema } from './schema.js';

type Path = readonly PropertyKey[];

/** The node at `path`, or the deepest existing ancestor. */
function locate(doc: Document, path: Path, keyOf?: string): Node | null {
  let node: unknown = doc.contents;
  for (const p of [...path, ...(keyOf === undefined ? [] : [keyOf])]) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(p));
      if (pair === undefined) break;
      node = p === keyOf ? pair.key : (pair.value ?? pair.key);
    } else if (isSeq(node) && typeof p === 'number' && node.items[p] !== undefined) {
      node = node.items[p];
    } else break;
  }
  return (node as Node | null) ?? null;
}

function hasPath(data: unknown, path: Path): boolean {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return false;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return true;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A problem found in what a valid host.yaml produces, at the host.yaml key `path`. */
export interface HostConfigCheck {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface LoadHostConfigOptions {
  /** Further checks of the validated config (the generated proxy config, in the CLI). */
  readonly check?: (config: HostConfig) => readonly HostConfigCheck[];
}

/** Parses and validates host.yaml `text` read from `file`. Throws ConfigError listing every issue. */
export function loadHostConfig(text: string, file: string, options: LoadHostConfigOptions = {}): HostConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  const at = (offset: number, key: string, message: string): void => {
    const { line, col } = lines.linePos(offset);
    issues.push({ file, line, col, key, message });
  };
  for (const err of doc.errors)
    at(err.pos[0], '', err.code === 'DUPLICATE_KEY' ? 'duplicate key' : (err.message.split('\n')[0] ?? ''));
  if (issues.length > 0) throw new ConfigError(issues);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    at(0, '', (err as Error).message);
    throw new ConfigError(issues, { cause: err });
  }
  const parsed = hostConfigSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const node = locate(doc, issue.path, key);
          at(node?.range?.[0] ?? 0, formatKeyPath([...issue.path, key]), `unknown key "${key}"`);
        }
        continue;
      }
      const node = locate(doc, issue.path);
      const message = hasPath(data, issue.path) ? issue.message : 'required key is missing';
      at(node?.range?.[0] ?? 0, formatKeyPath(issue.path), message);
    }
    throw new ConfigError(
      issues.sort((a, b) => a.line - b.line || a.col - b.col),
      { cause: parsed.error },
    );
  }
  const config = parsed.data;
  if (config.pool.driver === 'zfs' && config.pool.source === undefined)
    config.pool.source = '/dev/system/lxd-zfs';
  // Checks of what the config produces (the CLI passes the generated proxy config's): each problem is reported
  // at the host.yaml key it names, every one at once.
  for (const c of options.check?.(config) ?? []) {
    const node = locate(doc, c.path);
    at(node?.range?.[0] ?? 0, formatKeyPath(c.path), c.message);
  }
  if (issues.length > 0) throw new ConfigError(issues.sort((a, b) => a.line - b.line || a.col - b.col));
  return deepFreeze(config);
}
