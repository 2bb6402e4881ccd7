/**
 * `cuttle replay --config NEW ACCESS.LOG` through the built CLI: a recorded log (cuttle json lines, cuttle squid
 * lines and Squid 5.7's own lines, mixed) re-decided under new policies; the output names each change with its
 * count, and the exit code says whether anything would change.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CUTTLE_MAIN } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRecord } from '../src/core/context.js';
import { formatSquidLine, toJsonFields } from '../src/log/index.js';

const REC: AccessRecord = {
  time: 1_795_926_142_257,
  client: 'fe80::2%lxdbr0',
  container: null,
  method: 'GET',
  host: 'mirror.test',
  port: 80,
  path: '/pool/a.deb',
  verdict: 'allow',
  reason: 'allowlisted',
  rule: 'mirror.test',
  status: 200,
  bytesUp: 0,
  bytesDown: 1234,
  durationMs: 12,
  upstream: '127.0.0.1:80',
  answers: ['127.0.0.1'],
  closeReason: null,
  sni: null,
  contentType: 'text/plain',
};
const json = (r: Partial<AccessRecord>): string =>
  JSON.stringify({ time: new Date(REC.time).toISOString(), ...toJsonFields({ ...REC, ...r }) });
const squid = (r: Partial<AccessRecord>): string => formatSquidLine({ ...REC, ...r }, false);

const LOG = [
  json({}),
  json({ path: '/pool/b.deb' }),
  squid({}),
  json({
    host: 'blog.test',
    verdict: 'deny',
    reason: 'not_allowlisted',
    rule: null,
    status: 403,
    upstream: null,
  }),
  json({ method: 'CONNECT', host: 'api.test', port: 443, path: null, verdict: 'allow', rule: 'api.test' }),
  squid({ method: 'CONNECT', host: 'api.test', port: 443, path: null, status: 200 }),
  // Squid 5.7's own lines (its client is IPv4 loopback: outside the clients range unless the config adds it).
  '1795926142.262      0 127.0.0.1 TCP_DENIED/403 3409 GET http://other.test/x? - HIER_NONE/- text/html',
  // No decision in these: a bad request, a connection limit, a private-address refusal after an allow.
  json({ method: '-', host: '-', port: 0, path: null, verdict: 'error', reason: 'bad_request', status: 400 }),
  json({
    method: '-',
    host: '-',
    port: 0,
    path: null,
    verdict: 'deny',
    reason: 'limit_exceeded',
    status: 503,
  }),
  json({ host: 'mirror.test', path: '/p', verdict: 'deny', reason: 'private_address', status: 403 }),
  'not a log line',
  '',
].join('\n');

describe('cuttle replay', () => {
  let dir: string;
  let logFile: string;

  const config = (name: string, body: Record<string, unknown>): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ listen: ['127.0.0.1:3128'], clients: ['fe80::/10'], ...body }));
    return file;
  };
  const replay = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CUTTLE_MAIN, 'replay', ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-replay-'));
    logFile = join(dir, 'access.log');
    writeFileSync(logFile, LOG);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and lists nothing when the new policy decides the same', () => {
    const same = config('same.yaml', { allow: ['mirror.test', 'api.test'] });
    const r = replay('--config', same, logFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // 8 decisions: 3 mirror, 1 blog, 2 api, 1 private-address refusal (the policy allowed it) and Squid's own line,
    // a deny from 127.0.0.1, still denied (client_denied): no change.
    expect(r.out).toBe('11 line(s): 8 replayed, 0 would change, 2 without a decision, 1 not understood\n');
  });

  it('exits 1 and lists each change with its count', () => {
    const tighter = config('tighter.yaml', { allow: ['api.test', 'blog.test'] });
    const r = replay('--config', tighter, logFile);
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toEqual([
      'allow -> deny  GET mirror.test:80  (not_allowlisted)  x4',
      'deny -> allow  GET blog.test:80  (allowlisted blog.test)  x1',
      '11 line(s): 8 replayed, 5 would change, 2 without a decision, 1 not understood',
      '',
    ]);
  });

  it('shows what a report-mode policy would only report', () => {
    const report = config('report.yaml', { mode: 'report', allow: ['api.test'] });
    const r = replay('--config', report, logFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain('allow -> would_deny  GET mirror.test:80  (not_allowlisted)  x4\n');
    expect(r.out).toContain('deny -> would_deny  GET blog.test:80  (not_allowlisted)  x1\n');
  });

  it('prints JSON with --json', () => {
    const tighter = config('tighter.yaml', { allow: ['mirror.test'] });
    const r = replay('--json', '--config', tighter, logFile);
    expect(r.code).toBe(1);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({
      from: 'allow',
      to: 'deny',
      method: 'CONNECT',
      target: 'api.test:443',
      reason: 'not_allowlisted',
      rule: null,
      count: 2,
    });
    expect(lines.at(-1)).toEqual({ lines: 11, replayed: 8, changed: 2, skipped: 2, unparsed: 1 });
  });

  it.each([
    { name: 'no --config', args: () => [logFile], err: /--config FILE is required/ },
    { name: 'no log', args: () => ['--config', config('c.yaml', {})], err: /name at least one access log/ },
    {
      name: 'missing log',
      args: () => ['--config', config('c.yaml', {}), join(dir, 'nope.log')],
      err: /no such file/,
    },
    {
      name: 'a file that is no access log',
      args: () => {
        const junk = join(dir, 'junk.log');
        writeFileSync(junk, 'hello\nworld\n');
        return ['--config', config('c.yaml', {}), junk];
      },
      err: /no line of .* is a cuttle or Squid access-log line/,
    },
    {
      name: 'an invalid config',
      args: () => ['--config', config('bad.yaml', { mode: 'loud' }), logFile],
      err: /bad\.yaml:1:\d+: mode: /,
    },
  ])('exits 2 on $name', ({ args, err }) => {
    const r = replay(...args());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(err);
    expect(r.out).toBe('');
  });
});
