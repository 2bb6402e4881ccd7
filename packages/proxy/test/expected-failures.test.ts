/**
 * Expected failures end with one clear message naming the real cause, never a stack trace: a log file in a
 * missing directory (at start, and at the clean exit after a reload to such a path failed), a unix socket in a
 * missing directory (ENOENT, not EACCES).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchConfig } from './ops-support.js';

/** A stack frame or an uncaught error as node prints it. */
const TRACE = /^\s+at |^\w*Error: |sonic boom|Node\.js v\d/m;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cuttle-expected-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('expected failures print no stack trace', () => {
  it('a log file in a missing directory: one message naming the directory, exit 3', async () => {
    const missing = join(dir, 'no-such-dir');
    const p = await startProxy(
      { log: { file: join(missing, 'access.log'), format: 'json' } },
      { listeners: 0 },
    );
    try {
      expect(await p.stop('SIGCONT')).toBe(3);
      expect(p.stderr()).toContain(`cannot open the access log ${join(missing, 'access.log')}`);
      expect(p.stderr()).toContain(`the directory ${missing} does not exist`);
      expect(p.stderr()).not.toMatch(TRACE);
    } finally {
      await p.close();
    }
  });

  it('a reload to a log file in a missing directory fails cleanly, and so does the exit after it', async () => {
    const p = await startProxy({});
    try {
      const missing = join(dir, 'gone');
      patchConfig(p, { log: { file: join(missing, 'access.log'), format: 'json' } });
      p.child.kill('SIGHUP');
      await p.waitForStderr(/reload failed/);
      expect(p.stderr()).toContain(`the directory ${missing} does not exist`);
      expect(await p.stop('SIGTERM')).toBe(0);
      expect(p.stderr()).toMatch(/stopped\n$/);
      expect(p.stderr()).not.toMatch(TRACE);
    } finally {
      await p.close();
    }
  });

  it('a unix socket in a missing directory names the directory, not EACCES', async () => {
    const missing = join(dir, 'no-sock-dir');
    const p = await startProxy({ listen: [`unix:${join(missing, 'x.sock')}`] }, { listeners: 0 });
    try {
      expect(await p.stop('SIGCONT')).toBe(3);
      expect(p.stderr()).toContain(`the directory ${missing} does not exist`);
      expect(p.stderr()).not.toContain('EACCES');
      expect(p.stderr()).not.toMatch(TRACE);
    } finally {
      await p.close();
    }
  });
});
