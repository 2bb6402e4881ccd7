/**
 * A reload swaps the origin pool with the config (issue 11): the old pool's idle connections close at once, a
 * request in flight on it finishes there and its connection closes when it ends, and requests after the reload
 * open connections of their own. The origin keeps idle connections for 60 s (`Keep-Alive: timeout=60`), so
 * anything closed sooner was closed by cuttle.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { type ProxyProcess, sendRaw } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLoopback, patchConfig, startProxyToLoopback } from './ops-support.js';

let origin: Server;
let port: number;
let proxy: ProxyProcess;
/** Each connection the origin accepted, in order, with the paths it served and whether it closed. */
const conns: { socket: Socket; paths: string[]; closed: Promise<void>; isClosed: boolean }[] = [];
let releaseSlow: () => void = () => {};
const slowArrived = new Promise<void>((resolve) => {
  releaseSlow = resolve;
});
let slowGo: () => void = () => {};
const slowMayAnswer = new Promise<void>((resolve) => {
  slowGo = resolve;
});

beforeAll(async () => {
  origin = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const conn = conns.find((c) => c.socket === req.socket);
    conn?.paths.push(req.url ?? '');
    if (req.url === '/slow') {
      releaseSlow();
      void slowMayAnswer.then(() => res.end('slow body'));
      return;
    }
    res.end('ok');
  }) as Server;
  origin.on('connection', (socket: Socket) => {
    const entry = { socket, paths: [] as string[], isClosed: false, closed: Promise.resolve() };
    entry.closed = once(socket, 'close').then(() => {
      entry.isClosed = true;
    });
    conns.push(entry);
  });
  port = await listenLoopback(origin);
  proxy = await startProxyToLoopback(port);
});

afterAll(async () => {
  slowGo();
  await proxy?.close();
  origin?.closeAllConnections();
  origin?.close();
});

const get = (path: string): string =>
  `GET http://origin.test:${port}${path} HTTP/1.1\r\nHost: origin.test:${port}\r\nConnection: close\r\n\r\n`;

/** Resolves when `p` does, or rejects after `ms` (a close that would only come from the 60 s idle timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

describe('reload and the origin pool', () => {
  it('closes the old pool: idle at once, busy when its request ends; new requests get new connections', async () => {
    // One request in flight on the old pool when the reload comes (connection 0, busy), and one that ended
    // before it (connection 1: opened because 0 was busy, idle since).
    const slow = sendRaw(proxy.port, get('/slow'), { quietMs: 30_000 });
    await slowArrived;
    const first = await sendRaw(proxy.port, get('/idle'));
    expect(first.status).toBe(200);
    expect(conns.map((c) => c.paths)).toEqual([['/slow'], ['/idle']]);
    expect(conns.some((c) => c.isClosed)).toBe(false);

    patchConfig(proxy, { allow: ['origin.test', 'other.test'] });
    proxy.child.kill('SIGHUP');
    await proxy.waitForStderr(/reloaded .*\n/);

    await within(conns[1]?.closed as Promise<void>, 10_000, 'the idle connection of the old pool closed');
    expect(conns[0]?.isClosed).toBe(false);

    slowGo();
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe('slow body');
    await within(
      conns[0]?.closed as Promise<void>,
      10_000,
      'the busy connection closed once its request ended',
    );

    const after = await sendRaw(proxy.port, get('/after'));
    expect(after.status).toBe(200);
    expect(conns.map((c) => c.paths)).toEqual([['/slow'], ['/idle'], ['/after']]);
    expect(conns[2]?.isClosed).toBe(false);
  });
});
