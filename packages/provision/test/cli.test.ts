import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hostYaml, provision } from './helpers/cli.js';

const bad = hostYaml('bridge:\n  address: none\n');
afterAll(() => rmSync(bad.dir, { recursive: true, force: true }));

describe('cuttle-provision CLI', () => {
  const table: { name: string; args: string[]; code: number; out?: RegExp; err?: RegExp }[] = [
    { name: '--help', args: ['--help'], code: 0, out: /usage: cuttle-provision COMMAND/ },
    { name: 'no command', args: [], code: 2, out: /usage:/ },
    { name: '--version', args: ['--version'], code: 0, out: /^cuttle-provision \d+\.\d+\.\d+\n$/ },
    { name: 'plan --help', args: ['plan', '--help'], code: 0, out: /exit: 0 no changes, 1 changes pending/ },
    { name: 'unknown command', args: ['frobnicate'], code: 2, err: /unknown command "frobnicate"/ },
    { name: 'unknown flag', args: ['plan', '--bogus'], code: 2, err: /Unknown option '--bogus'/ },
    { name: 'stray argument', args: ['apply', 'x'], code: 2, err: /Unexpected argument 'x'/ },
    { name: 'missing --config', args: ['plan'], code: 2, err: /--config FILE is required/ },
    {
      name: 'flag of another command',
      args: ['remove', '--json', '--config', bad.file],
      code: 2,
      err: /--json is not an option/,
    },
    {
      name: 'unreadable config',
      args: ['plan', '--config', '/nonexistent/host.yaml'],
      code: 2,
      err: /cannot read \/nonexistent\/host.yaml: ENOENT/,
    },
    {
      name: 'bad --port',
      args: ['verify', '--config', bad.file, '--port', 'ssh'],
      code: 2,
      err: /--port ssh: not a port number/,
    },
    {
      name: 'config error names file:line:col and key',
      args: ['plan', '--config', bad.file],
      code: 2,
      err: new RegExp(`${bad.file}:2:12: bridge\\.address: a link-local address with /64`),
    },
    {
      name: 'no daemon is a runtime error saying where it looked',
      args: ['plan', '--config', hostYaml('').file, '--socket', '/nonexistent.sock'],
      code: 3,
      err: /cannot talk to LXD at \/nonexistent.sock: ENOENT/,
    },
  ];
  it.each(table)('$name -> exit $code', async ({ args, code, out, err }) => {
    const r = await provision(args);
    expect(r.code).toBe(code);
    if (out) expect(r.stdout).toMatch(out);
    if (err) expect(r.stderr).toMatch(err);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reference prints the generated host.yaml reference', async () => {
    const r = await provision(['reference']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| `bridge\.address` +\|/);
  });
});
