/**
 * Helpers for the operations tests (log, metrics, reload, drain, report, replay): the daemon's access-log file,
 * its config rewritten in place, its metrics port, a scrape, a raw CONNECT tunnel and an echo server.
 */
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { type ProxyProcess, startProxy } from '@cuttle/test-support';

/** The access-log file startProxy configures. */
export function accessFileOf(proxy: ProxyProcess): string {
  return join(dirname(proxy.configFile), 'access.log');
}

/** The non-empty lines of a file ([] when it does not exist). */
export function linesOf(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The daemon's config as startProxy wrote it (JSON). */
export function readConfig(proxy: ProxyProcess): Record<string, unknown> {
  return JSON.parse(readFileSync(proxy.configFile, 'utf8')) as Record<string, unknown>;
}

/** Rewrites the daemon's config file with `patch` merged over the top level (nothing is sent to the daemon). */
export function patchConfig(proxy: ProxyProcess, patch: Record<string, unknown>): void {
  writeFileSync(proxy.configFile, `${JSON.stringify({ ...readConfig(proxy), ...patch }, null, 2)}\n`);
}

/** The metrics listener's port, from its `metrics on ADDRESS` line. */
export async function metricsPortOf(proxy: ProxyProcess): Promise<number> {
  const m = await proxy.waitForStderr(/metrics on \S+:(\d+)/);
  return Number(m[1]);
}

/** A GET on loopback; resolves with status and body. */
export function httpGet(
  port: number,
  path: string,
  host = '127.0.0.1',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** The value of one sample (`name{a="b",...}` with exactly these labels), or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter((p) => p !== '')
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Opens a CONNECT tunnel through the proxy; resolves with the socket once the 200 arrived. */
export function openTunnel(
  proxyPort: number,
  target: string,
): Promise<{ socket: net.Socket; status: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: proxyPort }, () =>
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`),
    );
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve({ socket, status });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Writes `text` on the socket and resolves with the first `n` bytes read back. */
export function exchange(socket: net.Socket, text: string, n = Buffer.byteLength(text)): Promise<string> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        socket.off('data', onData);
        resolve(got.toString('latin1'));
      }
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

/** A TCP echo server on 127.0.0.1 (tunnel target). */
export async function startEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A loopback port nothing listens on (bound, read, closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Listens on 127.0.0.1 on a free port and resolves with it. */
export async function listenLoopback(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A proxy that allows `origin.test` on `port` at 127.0.0.1 (the guard opened for loopback), plus `extra` keys. */
export function startProxyToLoopback(
  port: number,
  extra: Record<string, unknown> = {},
): Promise<ProxyProcess> {
  return startProxy({
    ports: [port],
    allow: ['origin.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    ...extra,
  });
}
