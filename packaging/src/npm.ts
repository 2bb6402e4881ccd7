/**
 * `pnpm package npm`: cuttle-VERSION.tgz, a publishable `cuttle` package for hosts that already run a supported Node
 * (`npm install -g ./cuttle-VERSION.tgz`). Its two bins are the same bundles the .deb ships, with a shebang; it has
 * no dependencies, so the install needs no registry.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_NODE_FLAGS } from '@cuttle/provision';
import { bundleClis } from './bundle.js';
import { CUTTLE_LICENSE, renderNotices } from './copyright.js';
import { StagingTree } from './tree.js';
import { ROOT, sourceDateEpoch } from './workspace.js';

export interface NpmOptions {
  readonly version: string;
  readonly outDir: string;
}

/** Builds the tarball into `outDir`; returns its path. Needs `pnpm build` first. */
export async function buildNpmTarball(options: NpmOptions): Promise<string> {
  const { version, outDir } = options;
  const epoch = sourceDateEpoch();
  const { bundles, packages } = await bundleClis(version);
  const work = mkdtempSync(join(tmpdir(), 'cuttle-npm-'));
  try {
    const t = new StagingTree(join(work, 'cuttle'));
    // The proxy's bin runs with the flags the unit gives it (`env -S` splits them; coreutils >= 8.30).
    const shebang = (name: string): string =>
      name === 'cuttle.mjs' ? `#!/usr/bin/env -S node ${PROXY_NODE_FLAGS.join(' ')}` : '#!/usr/bin/env node';
    for (const b of bundles) t.write(b.name, `${shebang(b.name)}\n${b.text}`, 0o755);
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: object })
      .engines;
    const manifest = {
      name: 'cuttle',
      version,
      description:
        'Egress HTTP proxy and layer-7 firewall for LXD containers, with cuttle-provision to set up the host.',
      type: 'module',
      license: CUTTLE_LICENSE,
      bin: { cuttle: 'cuttle.mjs', 'cuttle-provision': 'cuttle-provision.mjs' },
      files: ['cuttle.mjs', 'cuttle-provision.mjs', 'THIRD-PARTY-NOTICES', 'README.md', 'examples/'],
      engines,
      os: ['linux'],
    };
    t.write('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
    t.write('README.md', readFileSync(join(ROOT, 'README.md')));
    t.write('THIRD-PARTY-NOTICES', renderNotices(packages));
    for (const e of ['cuttle.yaml', 'cuttle.lxdbr0.yaml', 'host.yaml'])
      t.write(`examples/${e}`, readFileSync(join(ROOT, 'config', e)));
    t.fixTimes(epoch);
    mkdirSync(outDir, { recursive: true });
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], {
      cwd: t.dir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_ignore_scripts: 'true' },
    })
      .trim()
      .split('\n')
      .at(-1);
    if (out === undefined || out === '') throw new Error('npm pack named no tarball');
    return join(outDir, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
