/**
 * Imports point one way, in every package: each package's src is a stack of layers (folders, or files at the top of
 * src), and a module may import only from its own layer or the layers below it. The test reads every module's
 * imports (`import type` included: a type arrow is an arrow) and fails on an arrow that points up, on a cycle
 * between modules, on a module in no layer, and on an import that reaches into another package's internals.
 * docs/lifecycle.md draws the proxy's layers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Bottom-up: layer 0 imports nothing above it. A unit is a folder directly under src, or a file there (without
 * `.ts`). A new folder goes into the layer it belongs to here, or the test fails naming it.
 */
const LAYERS: Record<string, readonly (readonly string[])[]> = {
  'packages/shared/src': [['errors'], ['net'], ['host'], ['config'], ['policy'], ['squid'], ['index']],
  'packages/proxy/src': [
    // core: the context a traffic path is handed, records, answers, error codes, the client tag, closing.
    ['core'],
    // services the traffic paths use.
    ['dns', 'upstream', 'metrics', 'identity', 'report', 'log'],
    // traffic paths.
    ['forward', 'tunnel'],
    ['server'],
    ['lifecycle'],
    ['cli'],
    ['index'],
  ],
  'packages/provision/src': [
    ['errors', 'internal'],
    ['lxd', 'host-config'],
    ['render'],
    ['guard'],
    ['identity', 'resources', 'verify'],
    ['cli'],
    ['index'],
  ],
  'bench/src': [['allowlist', 'report', 'micro'], ['e2e'], ['main']],
  'packaging/src': [['workspace', 'tree'], ['bundle'], ['copyright'], ['deb', 'npm'], ['main']],
};

/**
 * Arrows that point up today and are being removed; each names what removes it. The test fails when one of them
 * no longer exists, so the list only shrinks.
 */
const KNOWN_UPWARD: ReadonlySet<string> = new Set<string>([]);

/** Packages others may import, by name; only their entry (no subpath). */
const WORKSPACE_PACKAGES = ['@cuttle/shared', '@cuttle/proxy', '@cuttle/provision', '@cuttle/test-support'];

function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modulesUnder(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// `import x from '...'`, `import type {...} from '...'`, `export ... from '...'`, `import '...'`, `import('...')`.
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s(?:[^'"`;]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers a module imports (comments stripped first so an example in a doc comment is not an import). */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) out.push((m[1] ?? m[2]) as string);
  return out;
}

interface Graph {
  /** Module (repo-relative path) -> modules it imports inside its package. */
  readonly edges: Map<string, string[]>;
  /** Imports into another package's internals, `from -> specifier`. */
  readonly internals: string[];
}

function graphOf(src: string): Graph {
  const edges = new Map<string, string[]>();
  const internals: string[] = [];
  for (const file of modulesUnder(join(ROOT, src))) {
    const from = relative(ROOT, file).split(sep).join('/');
    const targets: string[] = [];
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = relative(ROOT, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
          .split(sep)
          .join('/');
        targets.push(target);
      } else if (WORKSPACE_PACKAGES.some((p) => spec.startsWith(`${p}/`))) {
        internals.push(`${from} -> ${spec}`);
      }
    }
    edges.set(from, targets);
  }
  return { edges, internals };
}

/** The unit (folder or top file under src) of a module. */
function unitOf(src: string, module: string): string {
  const rest = module.slice(src.length + 1);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest.replace(/\.ts$/, '') : rest.slice(0, slash);
}

/** Strongly connected components with more than one module (or a module importing itself): the cycles. */
function cyclesOf(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, order.get(w) as number));
      }
    }
    if (low.get(v) === order.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!order.has(v)) visit(v);
  return out;
}

/** Every import of `src` that points to a higher layer, as `from -> to`; and units in no layer. */
function upwardArrows(src: string, graph: Graph): { upward: string[]; unplaced: string[] } {
  const layers = LAYERS[src] ?? [];
  const rank = new Map<string, number>();
  layers.forEach((units, i) => {
    for (const u of units) rank.set(u, i);
  });
  const upward: string[] = [];
  const unplaced = new Set<string>();
  for (const [from, targets] of graph.edges) {
    const fromRank = rank.get(unitOf(src, from));
    if (fromRank === undefined) {
      unplaced.add(unitOf(src, from));
      continue;
    }
    for (const to of targets) {
      const toRank = rank.get(unitOf(src, to));
      if (toRank !== undefined && toRank > fromRank) upward.push(`${from} -> ${to}`);
    }
  }
  return { upward, unplaced: [...unplaced] };
}

describe('imports point one way', () => {
  const graphs = new Map(Object.keys(LAYERS).map((src) => [src, graphOf(src)] as const));
  const allUpward = new Set<string>();

  for (const [src, graph] of graphs) {
    it(`${src}: no module imports from a layer above its own`, () => {
      const { upward, unplaced } = upwardArrows(src, graph);
      for (const a of upward) allUpward.add(a);
      expect(unplaced, 'units in no layer: add them to LAYERS in this test').toEqual([]);
      expect(upward.filter((a) => !KNOWN_UPWARD.has(a))).toEqual([]);
    });

    it(`${src}: no import cycle`, () => {
      // A cycle made only of known upward arrows is the same debt, listed once above.
      const edges = new Map(
        [...graph.edges].map(([from, to]) => [from, to.filter((t) => !KNOWN_UPWARD.has(`${from} -> ${t}`))]),
      );
      expect(cyclesOf(edges)).toEqual([]);
    });

    it(`${src}: imports other packages only through their entry`, () => {
      expect(graph.internals).toEqual([]);
    });
  }

  it('every known upward arrow still exists (the list only shrinks)', () => {
    for (const [src, graph] of graphs) for (const a of upwardArrows(src, graph).upward) allUpward.add(a);
    expect([...KNOWN_UPWARD].filter((a) => !allUpward.has(a))).toEqual([]);
  });

  it('the walker sees an upward arrow and a cycle when there is one', () => {
    const edges = new Map([
      ['s/a/x.ts', ['s/b/y.ts']],
      ['s/b/y.ts', ['s/a/x.ts']],
    ]);
    expect(cyclesOf(edges)).toEqual([['s/a/x.ts', 's/b/y.ts']]);
    expect(
      importsOf("import type { A } from './a.js';\nexport { b } from '../b.js';\n// import c from './c.js'"),
    ).toEqual(['./a.js', '../b.js']);
  });
});
