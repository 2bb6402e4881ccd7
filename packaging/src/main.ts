/**
 * `pnpm package deb|npm [--out DIR] [--version V]`: builds cuttle_VERSION_amd64.deb or cuttle-VERSION.tgz from
 * the built workspace (the `package` script runs `pnpm build` first) and prints the file's path.
 * Exit 0 built, 2 bad usage, 3 the build failed.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDeb } from './deb.js';
import { buildNpmTarball } from './npm.js';
import { ROOT, workspaceVersion } from './workspace.js';

const HELP = `usage: pnpm package deb|npm [--out DIR] [--version VERSION]

  deb             cuttle_VERSION_amd64.deb: both CLIs bundled, the pinned Node 24, the unit, docs
  npm             cuttle-VERSION.tgz: both CLIs as bins, for a host with Node >= 20.18.1
  --out DIR       where to write it (default dist-packages/)
  --version V     override the version (default: packages/proxy's), e.g. for an upgrade test
`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  const OPTIONS = {
    out: { type: 'string' },
    version: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`package: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const [kind, ...extra] = positionals;
  if ((kind !== 'deb' && kind !== 'npm') || extra.length > 0) {
    process.stderr.write(`package: name one of deb or npm\n${HELP}`);
    return 2;
  }
  const version = values.version ?? workspaceVersion();
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) {
    process.stderr.write(
      `package: --version "${version}" is not a version (digits first, then [A-Za-z0-9.+~])\n`,
    );
    return 2;
  }
  for (const d of ['packages/proxy/dist/cli/main.js', 'packages/provision/dist/cli/main.js'])
    if (!existsSync(join(ROOT, d))) {
      process.stderr.write(`package: ${d} is missing: run pnpm build first\n`);
      return 2;
    }
  const outDir = resolve(values.out ?? join(ROOT, 'dist-packages'));
  try {
    const file =
      kind === 'deb' ? await buildDeb({ version, outDir }) : await buildNpmTarball({ version, outDir });
    process.stdout.write(`${file}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`package: ${kind} failed: ${(err as Error).message}\n`);
    return 3;
  }
}

process.exitCode = await main(process.argv.slice(2));
