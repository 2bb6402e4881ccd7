/**
 * The npm tarball: a publishable `cuttle` package with both bins and no dependencies, installed with
 * `npm install -g` into a temporary prefix (no registry needed), and both commands run from there on this Node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, ROOT } from './helpers.js';

const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'packages/proxy/package.json'), 'utf8')) as { version: string }
).version;

describe.skipIf(skipUnless({ commands: ['npm', 'tar'] }))('the npm tarball', () => {
  const work = mkdtempSync(join(tmpdir(), 'cuttle-npm-test-'));
  const prefix = join(work, 'prefix');
  let tgz = '';
  const env = {
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: work,
    npm_config_cache: join(work, 'cache'),
  };
  const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', env, cwd: work });

  beforeAll(async () => {
    tgz = await buildPackage('npm', join(work, 'out'));
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is cuttle-VERSION.tgz with both bins, no dependencies and no node_modules', () => {
    expect(tgz).toBe(join(work, 'out', `cuttle-${VERSION}.tgz`));
    const list = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout;
    expect(list).not.toContain('node_modules');
    const manifest = JSON.parse(
      spawnSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }).stdout,
    ) as { name: string; bin: Record<string, string>; dependencies?: object; private?: boolean };
    expect(manifest.name).toBe('cuttle');
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.bin).sort()).toEqual(['cuttle', 'cuttle-provision']);
    expect(manifest.dependencies).toBeUndefined();
    expect(list).toContain('package/THIRD-PARTY-NOTICES');
  });

  it('npm install -g into a temporary prefix gives both commands, which work', () => {
    const install = sh('npm', [
      'install',
      '-g',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--prefix',
      prefix,
      tgz,
    ]);
    expect(install.stderr).not.toMatch(/ERR!/);
    expect(install.status).toBe(0);
    expect(sh('cuttle', ['--version']).stdout).toBe(`cuttle ${VERSION}\n`);
    expect(sh('cuttle-provision', ['--version']).stdout).toBe(`cuttle-provision ${VERSION}\n`);
    // The proxy's bin starts Node with the unit's flags (a young generation of 16-32 MiB per semi-space).
    const bin = readFileSync(join(prefix, 'lib/node_modules/cuttle/cuttle.mjs'), 'utf8');
    expect(bin.split('\n')[0]).toBe(
      '#!/usr/bin/env -S node --min-semi-space-size=16 --max-semi-space-size=32 --single-threaded-gc',
    );
    const example = join(prefix, 'lib/node_modules/cuttle/examples/cuttle.yaml');
    const v = sh('cuttle', ['validate', '--config', example]);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    const plan = spawnSync(
      'cuttle-provision',
      ['plan', '--root', work, '--config', join(prefix, 'lib/node_modules/cuttle/examples/host.yaml')],
      { encoding: 'utf8', env: { ...env, LXD_SOCKET: join(work, 'no-lxd.socket') } },
    );
    expect(plan.status).toBe(3);
    expect(plan.stderr).not.toMatch(/^\s+at /m);
  });
});
