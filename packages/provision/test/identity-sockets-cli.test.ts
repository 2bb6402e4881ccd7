/**
 * `cuttle-provision identity --socket-dir DIR [--device NAME]`: bad usage is refused with exit 2 and a message
 * naming the option, before LXD is asked (the socket given does not exist).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const NO_LXD = '/nonexistent/cpc-lxd.socket';

function run(args: string[]): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [MAIN, 'identity', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('identity --socket-dir usage', () => {
  it('documents the options and the opt-in key in --help', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--socket-dir DIR');
    expect(r.stdout).toContain('user.cuttle.socket=true');
  });

  it.each([
    [['--socket-dir', 'relative/dir'], /--socket-dir relative\/dir: expected an absolute directory path/],
    [['--socket-dir', `/${'d'.repeat(38)}`], /at most 38 bytes/],
    [['--device', 'x'], /--device needs --socket-dir/],
    [['--socket-dir', '/run/cpc', '--device', 'bad name'], /--device bad name: not an LXD device name/],
  ])('refuses %j with exit 2', (args, re) => {
    const r = run(['--map', '/nonexistent/cpc-map.json', '--socket', NO_LXD, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
  });

  it('with good options, fails only on LXD (exit 3)', () => {
    const r = run(['--map', '/nonexistent/cpc-map.json', '--socket', NO_LXD, '--socket-dir', '/run/cpc']);
    expect(r.code).toBe(3);
  });
});
