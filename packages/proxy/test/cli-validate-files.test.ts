import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cuttle } from './cli-harness.js';

// Files a config names are read when it loads (validate, run, reload), so a bad one is a config error with its
// position, not a 502 at the first request that needs it.
const dir = mkdtempSync(join(tmpdir(), 'cli-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWithCa(caFile: string): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `listen: ["[::1]:3128"]\ntls:\n  ca_file: ${caFile}\n`);
  return file;
}

describe('tls.ca_file at load', () => {
  it('a missing file is a config error naming file:line:col and the key (exit 2)', () => {
    const file = configWithCa(join(dir, 'nope.pem'));
    const r = cuttle('validate', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`${file.replaceAll('.', '\\.')}:3:\\d+: tls\\.ca_file: cannot read .*ENOENT`),
    );
  });

  it('a file with no PEM certificate is refused', () => {
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not a certificate\n');
    const r = cuttle('validate', '--config', configWithCa(bad));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no PEM certificate');
  });

  it('a PEM file passes', () => {
    const good = join(dir, 'good.pem');
    writeFileSync(good, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(cuttle('validate', '--config', configWithCa(good)).code).toBe(0);
  });
});

// `upstream` is checked when the config loads, like every other value: before, `validate` said "valid" for these
// and every request then got 502 `upstream_failed`.
describe('upstream at load', () => {
  function configWithUpstream(value: string): string {
    const file = join(dir, `u-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `listen: ["[::1]:3128"]\nallow: [origin.test]\nupstream: ${JSON.stringify(value)}\n`);
    return file;
  }
  const cases = [
    { value: 'ftp://parent.test:21', message: 'only http:// parent proxies are supported' },
    { value: 'not a url', message: 'only http:// parent proxies are supported' },
    { value: 'http://parent.test:99999', message: 'the port must be 1-65535' },
    { value: 'http://parent.test', message: 'the port is required' },
  ];

  it.each(cases)('validate refuses $value: exit 2, file:line:col and the key', ({ value, message }) => {
    const file = configWithUpstream(value);
    const r = cuttle('validate', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3:11: upstream: ${message}`);
  });

  it.each(cases.filter((c) => c.value.includes(':')))(
    'run refuses $value before binding anything: exit 2',
    ({ value, message }) => {
      const file = configWithUpstream(value);
      const r = cuttle('run', '--config', file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:3:11: upstream: ${message}`);
    },
  );

  it('never prints the password of a refused upstream', () => {
    const r = cuttle('validate', '--config', configWithUpstream('http://u:s3cret@parent.test:99999'));
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('a usable upstream passes', () => {
    expect(cuttle('validate', '--config', configWithUpstream('http://u:p@parent.test:3128')).code).toBe(0);
  });
});
