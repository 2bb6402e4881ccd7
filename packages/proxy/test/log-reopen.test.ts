/**
 * SIGUSR1 after logrotate's rename: lines before the signal stay in the renamed file, lines after it go to a new
 * file at the configured path. Also: an unwritable log path stops the daemon at start with exit 3.
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Origin, type ProxyProcess, proxyGet, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFileOf, linesOf } from './ops-support.js';

describe('access log reopen on SIGUSR1', () => {
  let origin: Origin;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  const waitLines = async (file: string, n: number): Promise<string[]> => {
    for (let i = 0; i < 100 && linesOf(file).length < n; i++) await new Promise((r) => setTimeout(r, 50));
    return linesOf(file);
  };

  it('writes to a new file at the path after a rename and SIGUSR1', async () => {
    const file = accessFileOf(proxy);
    const rotated = `${file}.1`;
    expect((await proxyGet(proxy.port, `http://origin.test:${origin.port}/before`)).status).toBe(200);
    expect(await waitLines(file, 1)).toHaveLength(1);
    renameSync(file, rotated);
    // Until the signal, lines follow the open file descriptor into the renamed file.
    expect((await proxyGet(proxy.port, `http://origin.test:${origin.port}/renamed`)).status).toBe(200);
    expect(await waitLines(rotated, 2)).toHaveLength(2);
    proxy.child.kill('SIGUSR1');
    await proxy.waitForStderr(/access log reopened/);
    expect((await proxyGet(proxy.port, `http://origin.test:${origin.port}/after`)).status).toBe(200);
    const fresh = await waitLines(file, 1);
    expect(fresh).toHaveLength(1);
    expect(JSON.parse(fresh[0] as string)).toMatchObject({ path: '/after' });
    expect(linesOf(rotated).map((l) => (JSON.parse(l) as { path: string }).path)).toEqual([
      '/before',
      '/renamed',
    ]);
  });

  it('refuses to start when the log file cannot be opened (exit 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-log-'));
    try {
      const file = join(dir, 'missing-dir', 'access.log');
      const p = startProxy({ log: { file, format: 'json' } });
      await expect(p).rejects.toThrow(/exited \(3\)[\s\S]*cannot open the access log/);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
