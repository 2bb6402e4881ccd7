import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuttle } from './cli-harness.js';

const SEED = 'packages/shared/test/fixtures/seed-squid.conf';
let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-check-'));
  const r = cuttle('import-squid', SEED);
  expect(r.code).toBe(0);
  config = join(dir, 'imported.yaml');
  writeFileSync(config, r.stdout);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('import-squid of the seed, then check (issue 2 acceptance)', () => {
  it('the imported YAML validates', () => {
    const r = cuttle('validate', '--config', config);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  const rows: [string, string[], number, string][] = [
    [
      'from fe80::2%lxdbr0: allowed',
      ['--client', 'fe80::2%lxdbr0', 'http://archive.ubuntu.com/'],
      0,
      'allowlisted',
    ],
    ['from ::1: denied (client)', ['--client', '::1', 'http://archive.ubuntu.com/'], 1, 'client_denied'],
    ['upper case and trailing dot: allowed', ['http://ARCHIVE.ubuntu.com./'], 0, 'allowlisted'],
    ['port 8080: denied (port)', ['http://archive.ubuntu.com:8080/'], 1, 'port_denied'],
    ['CONNECT 443: allowed', ['CONNECT', 'archive.ubuntu.com:443'], 0, 'allowlisted'],
    ['CONNECT 80: denied', ['CONNECT', 'archive.ubuntu.com:80'], 1, 'connect_port_denied'],
    ['evil.com: denied', ['http://evil.com/'], 1, 'not_allowlisted'],
    ['suffix trick: denied', ['http://archive.ubuntu.com.evil.com/'], 1, 'not_allowlisted'],
    ['decimal IP literal: denied', ['http://2130706433/'], 1, 'ip_literal'],
    ['malformed target: denied', ['http://user@archive.ubuntu.com/'], 1, 'bad_target'],
  ];
  it.each(rows)('%s', (_name, args, code, reason) => {
    const text = cuttle('check', '--config', config, ...args);
    expect(text.code).toBe(code);
    expect(text.stdout).toContain(`verdict: ${code === 0 ? 'allow' : 'deny'}`);
    expect(text.stdout).toContain(`reason:  ${reason}`);
    const json = cuttle('check', '--config', config, '--json', ...args);
    expect(json.code).toBe(code);
    const d = JSON.parse(json.stdout) as { verdict: string; reason: string; clientChecked: boolean };
    expect(d.verdict).toBe(code === 0 ? 'allow' : 'deny');
    expect(d.reason).toBe(reason);
    expect(d.clientChecked).toBe(args.includes('--client'));
  });

  it('names the matching rule and says when client rules were skipped', () => {
    const r = cuttle('check', '--config', config, 'http://security.ubuntu.com/');
    expect(r.stdout).toContain('rule:    security.ubuntu.com');
    expect(r.stdout).toContain('client:  not given: client rules were skipped');
  });

  it('a bad --client is a usage error', () => {
    const r = cuttle('check', '--config', config, '--client', 'nope', 'http://a.test/');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--client 'nope' is not an IP address");
  });
});

describe('validate and check on broken configs', () => {
  it('prints every issue as FILE:LINE:COL: KEY: message and exits 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'listen: ["0.0.0.0:3128"]\ntimeouts:\n  header_ms: "x"\nbogus: 1\n');
    for (const r of [
      cuttle('validate', '--config', bad),
      cuttle('check', '--config', bad, 'http://a.test/'),
    ]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([
        `${bad}:1:10: listen[0]: "0.0.0.0:3128": a wildcard (every address) is refused: name an address or an interface`,
        `${bad}:3:14: timeouts.header_ms: expected number, got string "x"`,
        `${bad}:4:1: bogus: unknown key "bogus"`,
      ]);
    }
  });

  it('a missing file is exit 2, an unreadable one exit 3', () => {
    const missing = cuttle('validate', '--config', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const unreadable = cuttle('validate', '--config', dir);
    expect(unreadable.code).toBe(3);
    expect(unreadable.stderr).toContain('cannot read (EISDIR)');
  });

  it('the shipped configs validate', () => {
    expect(cuttle('validate', '--config', 'config/cuttle.yaml').code).toBe(0);
    expect(cuttle('validate', '--config', 'config/cuttle.lxdbr0.yaml').code).toBe(0);
    const local = cuttle(
      'check',
      '--config',
      'config/cuttle.yaml',
      '--client',
      '::1',
      'http://origin.test:8080/',
    );
    expect(local.code).toBe(0);
  });
});

describe('check in report mode', () => {
  it('shows a would-be deny as would_deny with its reason, and exits 0 since it goes through', () => {
    const file = join(dir, 'report.yaml');
    writeFileSync(file, 'listen: ["[::1]:3128"]\nmode: report\nallow: [ok.test]\n');
    const r = cuttle('check', '--config', file, 'http://other.test/');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verdict: would_deny');
    expect(r.stdout).toContain('reason:  not_allowlisted');
    expect(cuttle('check', '--config', file, 'http://ok.test/').stdout).toContain('verdict: allow');
  });
});
