/**
 * `cuttle-provision identity --socket-dir DIR [--device NAME]`: bad usage is refused with exit 2 and a message
 * naming the option, before LXD is asked (the socket given does not exist). `identity --config host.yaml` (what
 * cuttle-identity.service runs) takes its arguments from host.yaml.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

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

describe('identity --config host.yaml (the cuttle-identity.service command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpc-idcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const host = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('a bad host.yaml is exit 2 naming file:line and the key', () => {
    const f = host('bad.yaml', 'mode: bridge\nfirewall: { table: 9bad }\n');
    const r = run(['--config', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:2:`);
    expect(r.stderr).toContain('firewall.table');
  });

  it('a host with neither a guard nor an identity map is exit 2: nothing to keep in step', () => {
    const f = host('socket.yaml', 'mode: socket\n');
    const r = run(['--config', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}: nothing to keep in step`);
  });

  it("takes the guard, the map and LXD's socket from host.yaml (fails only on that socket, exit 3)", () => {
    const map = join(dir, 'identity.json');
    const f = host(
      'bridge.yaml',
      `lxd_socket: ${NO_LXD}\nproxy: { settings: { identity: { map_file: ${map} } } }\n`,
    );
    const r = run(['--config', f]);
    expect(r.stderr).toContain(NO_LXD);
    expect(r.code).toBe(3);
  });

  it('a flag given as well wins over host.yaml', () => {
    const f = host('flag.yaml', `lxd_socket: ${NO_LXD}\n`);
    const r = run(['--config', f, '--guard-table', 'no-dash']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--guard-table no-dash: not an nftables table name');
  });
});
