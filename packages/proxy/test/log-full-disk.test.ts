/**
 * The access log on a full disk (a tmpfs of 256 KiB filled up): a write that fails is reported on stderr and its
 * lines are kept and written once there is room again; a stop while the disk stays full does not hang, exits 0
 * and says how many lines could not be written.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Origin,
  type ProxyProcess,
  skipUnless,
  startOrigin,
  startProxy,
  waitFor,
} from '@cuttle/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linesOf } from './ops-support.js';

const SKIP = skipUnless({ root: true, commands: ['mount', 'umount'] });

function get(proxyPort: number, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: proxyPort, path: url, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** Fills the file system of `dir` up with one file (a write past the end of a tmpfs fails with ENOSPC). */
function fill(file: string): void {
  try {
    writeFileSync(file, Buffer.alloc(1024 * 1024, 120));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

describe.skipIf(SKIP)('access log on a full disk', () => {
  let origin: Origin;
  let dir: string;
  let proxy: ProxyProcess | undefined;

  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<{ p: ProxyProcess; log: string; filler: string }> => {
    dir = mkdtempSync(join(tmpdir(), 'cuttle-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    const log = join(dir, 'access.log');
    const p = await startProxy({
      ports: [origin.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      log: { file: log, format: 'json' },
    });
    proxy = p;
    const filler = join(dir, 'filler');
    fill(filler);
    return { p, log, filler };
  };

  it('keeps the lines of a failed write and writes them once there is room', async () => {
    const { p, log, filler } = await start();
    for (let i = 0; i < 5; i++)
      expect(await get(p.port, `http://origin.test:${origin.port}/full/${i}`)).toBe(200);
    await p.waitForStderr(/no space left on device/i);
    expect(linesOf(log)).toEqual([]);
    rmSync(filler);
    await waitFor(
      'the kept lines written',
      async () => linesOf(log).length,
      (n) => n === 5,
    );
    const paths = linesOf(log).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).toEqual([0, 1, 2, 3, 4].map((i) => `/full/${i}`));
    expect(await p.stop()).toBe(0);
  });

  it('stops while the disk stays full: exit 0, and it says how many lines were not written', async () => {
    const { p, log } = await start();
    for (let i = 0; i < 3; i++)
      expect(await get(p.port, `http://origin.test:${origin.port}/lost/${i}`)).toBe(200);
    await p.waitForStderr(/no space left on device/i);
    expect(await p.stop()).toBe(0);
    expect(p.stderr()).toMatch(/3 line\(s\) not written/);
    expect(linesOf(log)).toEqual([]);
  });
});
