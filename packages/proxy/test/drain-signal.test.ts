/**
 * Drain on SIGTERM/SIGINT against real daemons: a slow download started before the signal completes while new
 * connections are refused, the process exits 0 with the download's log line written; what outlives drain_ms is
 * closed (a tunnel logs close_reason `drain`); idle keep-alive connections do not hold the drain up.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { type Origin, type ProxyProcess, sendRaw, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exchange, openTunnel, startEcho } from './ops-support.js';

const CHUNKS = 12;
const CHUNK = 'x'.repeat(1000);

describe('drain on SIGTERM and SIGINT', () => {
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: ProxyProcess | undefined;

  beforeAll(async () => {
    // /slow sends CHUNKS pieces, one every 100 ms; everything else answers at once.
    origin = await startOrigin({
      respond: (req, res) => {
        if (req.url !== '/slow') {
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 }).end('ok');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': CHUNKS * CHUNK.length });
        let sent = 0;
        const timer = setInterval(() => {
          res.write(CHUNK);
          if (++sent === CHUNKS) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(timer));
      },
    });
    echo = await startEcho();
  });
  afterAll(async () => {
    await origin?.close();
    await echo?.close();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const start = (drainMs: number, limits: Record<string, unknown> = {}) =>
    startProxy({
      limits,
      ports: [origin.port],
      connect_ports: [echo.port],
      allow: ['origin.test', 'tunnel.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'tunnel.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      timeouts: { drain_ms: drainMs },
    });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: a slow download finishes, new connections are refused, exit 0',
    async (signal) => {
      const p = await start(60_000);
      proxy = p;
      let firstChunk: () => void = () => {};
      const started = new Promise<void>((r) => {
        firstChunk = r;
      });
      const download = new Promise<{ status: number; length: number }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: p.port,
            path: `http://origin.test:${origin.port}/slow`,
            headers: { Host: `origin.test:${origin.port}` },
            agent: false,
          },
          (res) => {
            let length = 0;
            res.on('data', (d: Buffer) => {
              length += d.length;
              firstChunk();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, length }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      });
      await started;
      p.child.kill(signal);
      await p.waitForStderr(/draining/);
      await expect(
        new Promise((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port: p.port }, () => resolve('connected'));
          s.on('error', reject);
        }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(await download).toEqual({ status: 200, length: CHUNKS * CHUNK.length });
      expect(await p.exited()).toBe(0);
      const rec = p.accessLog().find((r) => r.path === '/slow');
      expect(rec).toMatchObject({ verdict: 'allow', status: 200, bytesDown: CHUNKS * CHUNK.length });
      expect(p.stderr()).toMatch(/stopped/);
    },
    30_000,
  );

  it('closes a tunnel still open when drain_ms runs out, logs it as drain, exits 0', async () => {
    const p = await start(300);
    proxy = p;
    const { socket, status } = await openTunnel(p.port, `tunnel.test:${echo.port}`);
    expect(status).toBe(200);
    expect(await exchange(socket, 'hi')).toBe('hi');
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => {});
    p.child.kill('SIGTERM');
    await closed;
    expect(await p.exited()).toBe(0);
    expect(p.stderr()).not.toMatch(/Error|at /);
    expect(p.accessLog().find((r) => r.method === 'CONNECT')).toMatchObject({
      verdict: 'allow',
      closeReason: 'drain',
      bytesUp: 2,
      bytesDown: 2,
    });
    expect(p.stderr()).toMatch(/drain time over: closed 1 tunnel/);
  });

  it('more signals during a drain (a second Ctrl-C, then another) cut it short and still end in exit 0', async () => {
    const p = await start(120_000);
    proxy = p;
    const { socket, status } = await openTunnel(p.port, `tunnel.test:${echo.port}`);
    expect(status).toBe(200);
    socket.on('error', () => {});
    p.child.kill('SIGTERM');
    await p.waitForStderr(/draining 1 connection/);
    // Sent back to back: both reach the process while it still drains (the first cuts the drain short), never in
    // Node's own teardown after the last handle closed, where no handler runs and a signal kills the process.
    p.child.kill('SIGINT');
    p.child.kill('SIGINT');
    expect(await p.exited()).toBe(0);
    expect(p.stderr()).toMatch(/drain cut short/);
    expect(p.stderr()).toMatch(/stopped/);
    expect(p.accessLog().find((r) => r.method === 'CONNECT')).toMatchObject({ closeReason: 'drain' });
  });

  it('does not wait for idle keep-alive connections', async () => {
    const p = await start(120_000);
    proxy = p;
    const idle = net.connect({ host: '127.0.0.1', port: p.port });
    await new Promise((r) => idle.once('connect', r));
    const first = await new Promise<string>((resolve) => {
      idle.once('data', (d: Buffer) => resolve(d.toString('latin1')));
      idle.write(`GET http://origin.test:${origin.port}/k HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
    });
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    const closedByProxy = new Promise((r) => idle.once('close', r));
    // Within the test's own timeout, far below drain_ms: the idle connection was closed, not waited for.
    expect(await p.stop('SIGTERM')).toBe(0);
    await closedByProxy;
    await expect(sendRaw(p.port, 'GET / HTTP/1.1\r\n\r\n')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  }, 20_000);

  it('does not wait for a connection that has sent nothing', async () => {
    const p = await start(120_000);
    proxy = p;
    const silent = net.connect({ host: '127.0.0.1', port: p.port });
    silent.on('error', () => {});
    await new Promise((r) => silent.once('connect', r));
    const closedByProxy = new Promise((r) => silent.once('close', r));
    // Within the test's own timeout, far below drain_ms and header_ms (10 s): closed, not waited for.
    expect(await p.stop('SIGTERM')).toBe(0);
    await closedByProxy;
  }, 8_000);

  // A refused connection lingers (up to LINGER_MS, 2 s) so the client reads its answer; a drain does not wait for it.
  it.each([
    [
      'a 403 with its upload unread',
      {},
      `POST http://evil.test:1/up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(1000)}`,
      /^HTTP\/1\.1 403/,
    ],
    [
      'a 503 limit_exceeded (no parser on it: node does not know it as idle)',
      { max_connections_per_client: 1 },
      `GET http://origin.test:1/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      /^HTTP\/1\.1 503/,
    ],
  ])(
    'does not wait for a connection lingering after %s',
    async (_name, limits, request, answer) => {
      const p = await start(120_000, limits);
      proxy = p;
      const sockets: net.Socket[] = [];
      const connect = async (): Promise<net.Socket> => {
        const s = net.connect({ host: '127.0.0.1', port: p.port });
        s.on('error', () => {});
        sockets.push(s);
        await new Promise((r) => s.once('connect', r));
        return s;
      };
      // With the per-client limit, a first connection (an idle keep-alive one) takes the one place.
      if ('max_connections_per_client' in limits) {
        const first = await connect();
        await new Promise<void>((resolve) => {
          first.once('data', () => resolve());
          first.write(`GET http://origin.test:${origin.port}/k HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
        });
      }
      const lingering = await connect();
      const head = await new Promise<string>((resolve) => {
        lingering.once('data', (d: Buffer) => resolve(d.toString('latin1')));
        lingering.write(request);
      });
      expect(head).toMatch(answer);
      const closed = new Promise<number>((r) => lingering.once('close', () => r(performance.now())));
      const signalled = performance.now();
      expect(await p.stop('SIGTERM')).toBe(0);
      // Closed by the drain as it starts, not when the linger runs out.
      expect((await closed) - signalled).toBeLessThan(1_500);
      for (const s of sockets) s.destroy();
    },
    20_000,
  );
});
