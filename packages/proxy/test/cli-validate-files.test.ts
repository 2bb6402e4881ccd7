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
