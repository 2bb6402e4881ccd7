/**
 * config text -> validated, frozen Config. Pure: the caller reads the file. Every problem is collected (YAML
 * syntax, duplicate keys, schema issues, values the validators refuse) and reported as `FILE:LINE:COL: KEY: message`
 * through one ConfigError, so `cuttle validate` shows them all at once.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { type Config, configSchema } from './schema.js';

type Path = readonly PropertyKey[];

/** `timeouts.header_ms`, `allow[3]`, `rules[0].action`. */
export function formatKeyPath(path: Path): string {
  let out = '';
  for (const p of path) {
    const k = String(p);
    if (typeof p === 'number') out += `[${p}]`;
    else if (!/^[A-Za-z0-9_-]+$/.test(k)) out += `[${JSON.stringify(k)}]`;
    else out += out === '' ? k : `.${k}`;
  }
  return out;
}

/** The node at `path`, or the deepest existing ancestor (a missing key is reported where its map is). */
function locate(doc: Document, path: Path): { node: Node | null; missing: boolean } {
  let node: unknown = doc.contents;
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(p));
      if (pair === undefined) return { node: node as Node, missing: true };
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof p === 'number' && node.items[p] !== undefined) {
      node = node.items[p];
    } else {
      return { node: (node as Node | null) ?? null, missing: true };
    }
  }
  return { node: (node as Node | null) ?? null, missing: false };
}

/** The key node of `key` in the map at `path` (for unknown keys: point at the key, not its value). */
function locateKey(doc: Document, path: Path, key: string): Node | null {
  const { node, missing } = locate(doc, path);
  if (missing || !isMap(node)) return null;
  const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
  return (pair?.key as Node | undefined) ?? null;
}

/** Builds ConfigIssues for one document; positions come from the LineCounter. */
class IssueCollector {
  readonly issues: ConfigIssue[] = [];
  readonly #file: string;
  readonly #lines: LineCounter;

  constructor(file: string, lines: LineCounter) {
    this.#file = file;
    this.#lines = lines;
  }

  at(offset: number, key: string, message: string): void {
    const { line, col } = this.#lines.linePos(offset);
    this.issues.push({ file: this.#file, line, col, key, message });
  }

  atNode(node: Node | null, key: string, message: string): void {
    this.at(node?.range?.[0] ?? 0, key, message);
  }
}

function valueAt(data: unknown, path: Path): { found: boolean; value: unknown } {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p))
      return { found: false, value: undefined };
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return { found: true, value: v };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const { found, value } = valueAt(data, issue.path);
  if (!found) return 'required key is missing';
  if (issue.code === 'invalid_type') {
    const expected =
      issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a map' : issue.expected;
    return `expected ${expected}, got ${typeName(value)}`;
  }
  return issue.message;
}

function reportSchemaIssues(
  doc: Document,
  data: unknown,
  issues: readonly z.core.$ZodIssue[],
  out: IssueCollector,
): void {
  for (const issue of issues) {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = formatKeyPath([...path, key]);
        out.atNode(locateKey(doc, path, key) ?? locate(doc, path).node, keyPath, `unknown key "${key}"`);
      }
      continue;
    }
    out.atNode(locate(doc, path).node, formatKeyPath(path), describeIssue(issue, data));
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** How loadConfig may look at files the config names. */
export interface LoadConfigOptions {
  /**
   * Checks a file the config names (`kind` says what it must hold: `ca`, PEM certificates) and returns why it cannot
   * be used, or null. Left out, files are not checked (`cuttle check` and tests of the pure loader).
   */
  readonly checkFile?: (path: string, kind: 'ca') => string | null;
}

/**
 * Parses and validates config `text` read from `file` (used only in messages). Returns the config with every
 * default applied, deeply frozen. Throws ConfigError listing every issue. The schema checks every value with the
 * validators the policy compiler uses (validators.ts), so a config that loads also compiles; the proxy compiles it
 * once, in its prepare step.
 */
export function loadConfig(text: string, file: string, options: LoadConfigOptions = {}): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const out = new IssueCollector(file, lines);
  for (const err of doc.errors) {
    const message =
      err.code === 'DUPLICATE_KEY' ? 'duplicate key' : (err.message.split('\n')[0] ?? err.message);
    out.at(err.pos[0], err.code === 'DUPLICATE_KEY' ? duplicateKeyPath(doc, err.pos[0]) : '', message);
  }
  if (out.issues.length > 0) throw new ConfigError(sortIssues(out.issues));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    out.at(0, '', (err as Error).message);
    throw new ConfigError(out.issues, { cause: err });
  }
  if (data === null || data === undefined) {
    out.at(0, '', 'the config is empty (at least `listen` is required)');
    throw new ConfigError(out.issues);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    reportSchemaIssues(doc, data, parsed.error.issues, out);
    throw new ConfigError(sortIssues(out.issues), { cause: parsed.error });
  }
  // Files the config names, checked by the caller's reader (shared does no I/O): a bad one is a config error now,
  // not a failure at the first request that needs it.
  const caFile = parsed.data.tls.ca_file;
  const problem = caFile === null || options.checkFile === undefined ? null : options.checkFile(caFile, 'ca');
  if (problem !== null) {
    out.atNode(locate(doc, ['tls', 'ca_file']).node, 'tls.ca_file', problem);
    throw new ConfigError(out.issues);
  }
  return deepFreeze(parsed.data);
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** The dotted path of the duplicate key starting at `offset` (best effort: '' if it cannot be found). */
function duplicateKeyPath(doc: Document, offset: number): string {
  let found = '';
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const it of node.items) {
        const key = isScalar(it.key) ? String(it.key.value) : '?';
        const range = (it.key as Node | null)?.range;
        if (range !== undefined && range !== null && range[0] === offset)
          found = formatKeyPath([...path, key]);
        walk(it.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((v, i) => {
        walk(v, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);
  return found;
}
