/**
 * Both CLIs bundled with esbuild into one ES module each, so neither package needs node_modules: the compiled
 * workspace (dist/) and every npm package they import inlined; Node's built-ins stay imports. The metafile says
 * which npm packages went in, for the copyright file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './workspace.js';

/** An npm package inlined into a bundle. */
export interface InlinedPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** The text of its LICENSE file, or null when it ships none. */
  readonly licenseText: string | null;
  readonly homepage: string | null;
  /** Which bundles hold it. */
  readonly bundles: readonly string[];
}

/** A bundle: its file name and text. */
export interface Bundle {
  readonly name: string;
  readonly text: string;
}

const ENTRIES = [
  { name: 'cuttle.mjs', entry: 'packages/proxy/dist/cli/main.js' },
  { name: 'cuttle-provision.mjs', entry: 'packages/provision/dist/cli/main.js' },
] as const;

// CommonJS packages call require() on Node's built-ins; an ES module bundle has no require of its own.
const BANNER =
  "import { createRequire as __cuttleRequire } from 'node:module';\nconst require = __cuttleRequire(import.meta.url);";

/** The package directory of a metafile input under node_modules, or null for workspace code. */
function packageDir(input: string): string | null {
  const i = input.lastIndexOf('node_modules/');
  if (i < 0) return null;
  const rest = input.slice(i + 'node_modules/'.length).split('/');
  const depth = rest[0]?.startsWith('@') ? 2 : 1;
  return join(ROOT, input.slice(0, i), 'node_modules', ...rest.slice(0, depth));
}

function licenseText(dir: string): string | null {
  for (const f of [
    'LICENSE',
    'LICENSE.md',
    'LICENSE.txt',
    'license',
    'license.md',
    'LICENCE',
    'LICENSE-MIT',
  ]) {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch {}
  }
  return null;
}

/** Bundles both CLIs with `version` built in; fails when the build is missing (run `pnpm build`). */
export async function bundleClis(
  version: string,
): Promise<{ bundles: Bundle[]; packages: InlinedPackage[] }> {
  const bundles: Bundle[] = [];
  const found = new Map<string, { dir: string; bundles: string[] }>();
  for (const { name, entry } of ENTRIES) {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.11',
      write: false,
      outfile: name,
      metafile: true,
      legalComments: 'none',
      banner: { js: BANNER },
      define: { __CUTTLE_VERSION__: JSON.stringify(version) },
      logLevel: 'error',
    });
    const out = result.outputFiles[0];
    if (out === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
    // The entry's own `#!` line: the .deb runs bundles through its runtime, the npm tarball adds its own.
    bundles.push({ name, text: out.text.replace(/^#!.*\n/, '') });
    for (const input of Object.keys(result.metafile.inputs)) {
      const dir = packageDir(input);
      if (dir === null) continue;
      const seen = found.get(dir) ?? { dir, bundles: [] };
      if (!seen.bundles.includes(name)) seen.bundles.push(name);
      found.set(dir, seen);
    }
  }
  const packages = [...found.values()].map(({ dir, bundles: in_ }): InlinedPackage => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: string;
      homepage?: string;
    };
    return {
      name: pkg.name,
      version: pkg.version,
      license: pkg.license ?? 'UNKNOWN',
      licenseText: licenseText(dir),
      homepage: pkg.homepage ?? null,
      bundles: in_,
    };
  });
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { bundles, packages: dedupe(packages) };
}

// One entry per name and version (pnpm may link one package under two paths).
function dedupe(list: InlinedPackage[]): InlinedPackage[] {
  const out = new Map<string, InlinedPackage>();
  for (const p of list) {
    const key = `${p.name}@${p.version}`;
    const had = out.get(key);
    out.set(key, had === undefined ? p : { ...had, bundles: [...new Set([...had.bundles, ...p.bundles])] });
  }
  return [...out.values()];
}
