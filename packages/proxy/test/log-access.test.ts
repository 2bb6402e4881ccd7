/**
 * The access log written by a real daemon, in both formats: one line per allowed, denied, failed and tunnelled
 * request, read back from the file (the squid lines split field by field), with no request header or query value.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Origin, type ProxyProcess, proxyGet, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, exchange, linesOf, openTunnel, startEcho } from './ops-support.js';

const SECRET = 'c2VjcmV0OnNlY3JldA';

describe.each(['json', 'squid'] as const)('access log (%s format)', (format) => {
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let refused: number;
  let proxy: ProxyProcess;
  let dir: string;
  let file: string;
  const started = Date.now();

  beforeAll(async () => {
    origin = await startOrigin();
    echo = await startEcho();
    refused = await closedPort();
    dir = mkdtempSync(join(tmpdir(), 'ops-log-'));
    file = join(dir, 'access.log');
    proxy = await startProxy({
      ports: [origin.port, refused],
      connect_ports: [echo.port],
      allow: ['origin.test', 'closed.test', 'tunnel.test'],
      dns: {
        hosts: { 'origin.test': ['127.0.0.1'], 'closed.test': ['127.0.0.1'], 'tunnel.test': ['127.0.0.1'] },
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      log: { file, format },
    });
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends, then waits for the one new line it produced. */
  async function oneLine(send: () => Promise<unknown>): Promise<string> {
    const before = linesOf(file).length;
    await send();
    let lines: string[] = [];
    for (let i = 0; i < 100 && lines.length <= before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      lines = linesOf(file);
    }
    expect(lines).toHaveLength(before + 1);
    return lines[before] as string;
  }

  /** Squid's columns: `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`. */
  function squidFields(line: string) {
    const m =
      /^(\d+)\.(\d{3}) {1,6}(\d+) (\S+) ([A-Z_]+)\/(\d{3}) (\d+) (\S+) (\S+) (\S+) ([A-Z_]+)\/(\S+) (\S+)$/.exec(
        line,
      );
    expect(m, line).not.toBeNull();
    const f = m as RegExpExecArray;
    const time = Number(f[1]) * 1000 + Number(f[2]);
    expect(time).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000);
    expect(time).toBeLessThanOrEqual(Date.now());
    // %6tr: right-aligned in six columns.
    expect(line.slice(line.indexOf(' ') + 1, line.indexOf(' ') + 7)).toMatch(/^ *\d+$/);
    return {
      duration: Number(f[3]),
      client: f[4],
      code: f[5],
      status: Number(f[6]),
      bytes: Number(f[7]),
      method: f[8],
      url: f[9],
      user: f[10],
      hier: f[11],
      peer: f[12],
      type: f[13],
    };
  }

  it('logs an allowed request (query value and headers left out)', async () => {
    const url = `http://origin.test:${origin.port}/ok?token=${SECRET}`;
    const line = await oneLine(() =>
      proxyGet(proxy.port, url, { headers: { Authorization: `Basic ${SECRET}` } }),
    );
    expect(line).not.toContain(SECRET);
    if (format === 'json') {
      const rec = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(rec)).toEqual([
        'time',
        'client',
        'container',
        'method',
        'host',
        'port',
        'path',
        'verdict',
        'reason',
        'rule',
        'status',
        'bytes_up',
        'bytes_down',
        'duration_ms',
        'upstream',
        'answers',
        'close_reason',
        'sni',
        'content_type',
      ]);
      expect(rec).toMatchObject({
        client: '127.0.0.1',
        container: null,
        method: 'GET',
        host: 'origin.test',
        port: origin.port,
        path: '/ok?',
        verdict: 'allow',
        reason: 'allowlisted',
        rule: 'origin.test',
        status: 200,
        bytes_up: 0,
        upstream: `127.0.0.1:${origin.port}`,
        answers: ['127.0.0.1'],
        close_reason: null,
        sni: null,
        content_type: 'text/plain',
      });
      expect(rec.bytes_down).toBe(Buffer.byteLength(`origin saw GET /ok?token=${SECRET}\n`));
      expect(Date.parse(rec.time as string)).toBeGreaterThanOrEqual(started);
      expect(rec.duration_ms).toEqual(expect.any(Number));
    } else {
      expect(squidFields(line)).toMatchObject({
        client: '127.0.0.1',
        code: 'TCP_MISS',
        status: 200,
        bytes: Buffer.byteLength(`origin saw GET /ok?token=${SECRET}\n`),
        method: 'GET',
        url: `http://origin.test:${origin.port}/ok?`,
        user: '-',
        hier: 'HIER_DIRECT',
        peer: '127.0.0.1',
        type: 'text/plain',
      });
    }
  });

  it('logs a denied request', async () => {
    const line = await oneLine(() => proxyGet(proxy.port, `http://nope.test:${origin.port}/x`));
    if (format === 'json') {
      expect(JSON.parse(line)).toMatchObject({
        method: 'GET',
        host: 'nope.test',
        verdict: 'deny',
        reason: 'not_allowlisted',
        rule: null,
        status: 403,
        upstream: null,
      });
    } else {
      expect(squidFields(line)).toMatchObject({
        code: 'TCP_DENIED',
        status: 403,
        method: 'GET',
        url: `http://nope.test:${origin.port}/x`,
        hier: 'HIER_NONE',
        peer: '-',
      });
    }
  });

  it('logs a request whose origin refused the connection', async () => {
    const line = await oneLine(() => proxyGet(proxy.port, `http://closed.test:${refused}/`));
    if (format === 'json') {
      expect(JSON.parse(line)).toMatchObject({
        host: 'closed.test',
        port: refused,
        verdict: 'error',
        reason: 'upstream_refused',
        status: 502,
        bytes_up: 0,
      });
    } else {
      expect(squidFields(line)).toMatchObject({
        code: 'TCP_MISS',
        status: 502,
        method: 'GET',
        url: `http://closed.test:${refused}/`,
      });
    }
  });

  it('logs a tunnel with its byte counts and close reason', async () => {
    const line = await oneLine(async () => {
      const { socket, status } = await openTunnel(proxy.port, `tunnel.test:${echo.port}`);
      expect(status).toBe(200);
      expect(await exchange(socket, 'ping!')).toBe('ping!');
      socket.end();
      await new Promise((r) => socket.once('close', r));
    });
    if (format === 'json') {
      expect(JSON.parse(line)).toMatchObject({
        method: 'CONNECT',
        host: 'tunnel.test',
        port: echo.port,
        path: null,
        verdict: 'allow',
        status: 200,
        bytes_up: 5,
        bytes_down: 5,
        upstream: `127.0.0.1:${echo.port}`,
        close_reason: 'client_end',
        sni: null,
      });
    } else {
      expect(squidFields(line)).toMatchObject({
        code: 'TCP_TUNNEL',
        status: 200,
        bytes: 5,
        method: 'CONNECT',
        url: `tunnel.test:${echo.port}`,
        hier: 'HIER_DIRECT',
        peer: '127.0.0.1',
        type: '-',
      });
    }
  });

  it('keeps the lines out of stdout and stderr', () => {
    expect(proxy.stdout()).toBe('');
    expect(proxy.stderr()).not.toContain('origin.test');
    expect(readFileSync(file, 'utf8')).not.toContain('Authorization');
  });
});
