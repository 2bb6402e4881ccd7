/**
 * The watcher's map file when its directory comes and goes (the proxy's RuntimeDirectory=/run/cuttle does not exist
 * before the proxy starts and is removed when it stops): the map waits for the directory instead of failing, and
 * is put back when removed. Real files in a temp dir.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IdentityRecord } from '../src/identity/collect.js';
import { IdentityMapKeeper, renderIdentityMap } from '../src/identity/map-file.js';

const RECORDS: IdentityRecord[] = [
  {
    name: 'c1',
    mac: '00:16:3e:00:00:01',
    address: 'fe80::216:3eff:fe00:1',
    bridge: 'lxdbr0',
    filtered: true,
  },
  { name: 'c2', socket: true },
];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setUp(): { base: string; run: string; file: string; said: string[]; keeper: IdentityMapKeeper } {
  const base = mkdtempSync(join(tmpdir(), 'cpv-keeper-'));
  dirs.push(base);
  const run = join(base, 'run-cuttle');
  const file = join(run, 'identity.json');
  const said: string[] = [];
  return { base, run, file, said, keeper: new IdentityMapKeeper(file, (l) => said.push(l)) };
}

describe('IdentityMapKeeper', () => {
  it('waits for a missing directory (said once), then writes the map when the directory appears', () => {
    const { run, file, said, keeper } = setUp();
    expect(keeper.write(RECORDS)).toBe(false);
    expect(keeper.write(RECORDS)).toBe(false);
    expect(keeper.check()).toBe(false);
    expect(said).toEqual([`identity map ${file}: ${run} does not exist yet; writing the map once it does`]);
    expect(existsSync(run)).toBe(false);

    mkdirSync(run);
    expect(keeper.check()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(renderIdentityMap(RECORDS));
    expect(keeper.check()).toBe(false);
  });

  it('puts the last map back when the file or its whole directory is removed', () => {
    const { run, file, keeper } = setUp();
    mkdirSync(run);
    expect(keeper.write(RECORDS)).toBe(true);
    expect(keeper.write(RECORDS)).toBe(false);

    rmSync(file);
    expect(keeper.check()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(renderIdentityMap(RECORDS));

    // The proxy stopped (its runtime directory went) and started again (an empty one came back).
    rmSync(run, { recursive: true });
    expect(keeper.check()).toBe(false);
    mkdirSync(run);
    expect(keeper.check()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(renderIdentityMap(RECORDS));
  });

  it('rewrites a map whose content someone changed on the next write, and leaves an equal one alone', () => {
    const { run, file, keeper } = setUp();
    mkdirSync(run);
    keeper.write(RECORDS);
    writeFileSync(file, '{}\n');
    expect(keeper.write(RECORDS)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(renderIdentityMap(RECORDS));
  });

  it('still fails on a directory that exists but cannot take the file', () => {
    const { run, keeper } = setUp();
    writeFileSync(run, 'not a directory');
    expect(() => keeper.write(RECORDS)).toThrow(/ENOTDIR/);
  });
});
