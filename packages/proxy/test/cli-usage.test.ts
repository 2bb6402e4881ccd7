import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CUTTLE_MAIN } from '@cuttle/test-support';
import { describe, expect, it } from 'vitest';
import { cuttle, REPO } from './cli-harness.js';

const COMMANDS = ['run', 'check', 'validate', 'import-squid', 'config-reference'];

describe('cuttle usage', () => {
  it('--version prints the package version', () => {
    const r = cuttle('--version');
    const pkg = JSON.parse(readFileSync(join(REPO, 'packages/proxy/package.json'), 'utf8')) as {
      version: string;
    };
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`cuttle ${pkg.version}\n`);
  });

  it('--help lists every command', () => {
    const r = cuttle('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c} `);
  });

  it.each(COMMANDS)('%s --help prints its usage and exits 0', (c) => {
    const r = cuttle(c, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: cuttle ${c}`));
  });

  const errors: [string, string[], string][] = [
    ['no command', [], 'usage: cuttle COMMAND'],
    ['unknown command', ['frobnicate'], "cuttle: unknown command 'frobnicate'"],
    ['unknown flag', ['check', '--frob'], "Unknown option '--frob'"],
    ['flag without value', ['validate', '--config'], "Option '-c, --config <value>' argument missing"],
    ['missing --config', ['validate'], 'cuttle: validate: --config FILE is required'],
    [
      'missing target',
      ['check', '--config', 'config/cuttle.yaml'],
      'a URL (or CONNECT HOST:PORT) is required',
    ],
    [
      'bad method',
      ['check', '--config', 'config/cuttle.yaml', 'get', 'http://a.test/'],
      "'get' is not a method",
    ],
    ['extra argument', ['import-squid', 'a', 'b'], "unexpected argument 'b'"],
    ['missing squid.conf', ['import-squid'], 'a squid.conf FILE is required'],
    ['config-reference argument', ['config-reference', 'x'], "unexpected argument 'x'"],
  ];
  it.each(errors)('%s: usage error on stderr, exit 2, no stack trace', (_name, args, message) => {
    const r = cuttle(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('config-reference prints docs/config-reference.md', () => {
    const r = cuttle('config-reference');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, 'docs/config-reference.md'), 'utf8'));
  });
});

describe('cuttle output to a reader that goes away', () => {
  it('stops quietly, with no stack trace, when stdout is closed (cuttle ... | head)', async () => {
    // The read end is closed before the CLI writes a byte, so its first write fails with EPIPE.
    const child = spawn(process.execPath, [CUTTLE_MAIN, 'config-reference'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
