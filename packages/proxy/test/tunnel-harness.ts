/**
 * Fixtures for the CONNECT tests: the proxy's real http.Server (createProxyHttpServer, real context and resolver)
 * on 127.0.0.1:0, origins that record what reaches them, canaries that must stay silent, and a CONNECT client.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type ConfigInput, configSchema } from '@cuttle/shared';
import type { AccessRecord } from '../src/core/context.js';
import type { TunnelRegistry } from '../src/core/tunnel-registry.js';
import { createContext, createProxyInstance } from '../src/lifecycle/create-context.js';
import { prepare } from '../src/lifecycle/prepare.js';
import { ConnectionLimits } from '../src/server/connection-limits.js';
import { createProxyHttpServer } from '../src/server/http-server.js';

export interface TestProxy {
  readonly port: number;
  readonly records: AccessRecord[];
  /** The http.Server, to watch the sockets it hands to handleConnect. */
  readonly server: HttpServer;
  /** The tunnels this proxy (its own running instance) has open. */
  readonly tunnels: TunnelRegistry;
  /** Resolves with the next record (or the one already there at `index`). */
  record(index: number): Promise<AccessRecord>;
  close(): Promise<void>;
}

/** Starts the proxy's http.Server for `input` (validated by the real schema) on 127.0.0.1:0. */
export async function startTestProxy(input: Omit<ConfigInput, 'listen'>): Promise<TestProxy> {
  const config = configSchema.parse({ listen: ['127.0.0.1:3128'], ...input });
  const records: AccessRecord[] = [];
  const waiters: (() => void)[] = [];
  const instance = createProxyInstance();
  const ctx = createContext(
    // The files the config names, read once here as the loader does (tests build the config with the schema).
    prepare(config, { caPem: config.tls.ca_file === null ? null : readFileSync(config.tls.ca_file, 'utf8') }),
    (r) => {
      records.push(structuredClone(r));
      for (const w of waiters.splice(0)) w();
    },
    instance,
  );
  const server = createProxyHttpServer({
    context: () => ctx,
    zone: undefined,
    limits: new ConnectionLimits(),
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    records,
    server,
    tunnels: instance.tunnels,
    async record(index) {
      while (records.length <= index) await new Promise<void>((r) => waiters.push(r));
      return records[index] as AccessRecord;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      server.closeAllConnections();
      instance.origins.close();
    },
  };
}

/** A TCP listener that records every connection and every byte, and ends its side when the peer does. */
export interface RecordingServer {
  readonly port: number;
  readonly host: string;
  connections: number;
  readonly received: Buffer[];
  readonly receivedBytes: () => number;
  close(): Promise<void>;
}

/** A raw TCP origin (or canary: assert `connections === 0`) on `host`:0. */
export async function startRecordingServer(
  host = '127.0.0.1',
  onSocket?: (socket: Socket) => void,
): Promise<RecordingServer> {
  const sockets = new Set<Socket>();
  const received: Buffer[] = [];
  const rec: RecordingServer = {
    port: 0,
    host,
    connections: 0,
    received,
    receivedBytes: () => received.reduce((n, b) => n + b.length, 0),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    rec.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (onSocket) onSocket(socket);
    else {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => socket.end());
    }
  });
  server.listen(0, host);
  await once(server, 'listening');
  (rec as { port: number }).port = (server.address() as { port: number }).port;
  return rec;
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed): connecting there is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface ConnectAnswer {
  readonly status: number;
  readonly head: string;
  readonly socket: Socket;
  /** Bytes after the response head (a 200's tunnel data, or an error body). */
  readonly rest: Buffer;
}

/** Sends `CONNECT target` to the proxy and reads the response head. `status` is 0 when it closed without one. */
export async function sendConnect(
  proxyPort: number,
  target: string,
  extra: Buffer | string = '',
): Promise<ConnectAnswer> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
  socket.on('error', () => {});
  await once(socket, 'connect');
  // One write: bytes after the head arrive in the same segment (the server hands them over as `head`).
  socket.write(
    Buffer.concat([Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`), Buffer.from(extra)]),
  );
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (status: number, head: string, rest: Buffer): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve({ status, head, socket, rest });
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.toString('latin1', 0, end);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      done(m ? Number(m[1]) : -1, head, buf.subarray(end + 4));
    };
    const onClose = (): void => done(0, buf.toString('latin1'), Buffer.alloc(0));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Reads everything until the connection closes (FIN or reset); resolves with the bytes. */
export async function readAll(socket: Socket, first: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const chunks = [first];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => socket.end());
  socket.resume();
  // Not events.once: a reset (an 'error' before 'close') is a way to close too.
  if (!socket.closed) await new Promise((r) => socket.once('close', r));
  return Buffer.concat(chunks);
}

/** The value of a response header in a raw head, or null. */
export function headerOf(head: string, name: string): string | null {
  const re = new RegExp(`^${name}:\\s*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim() ?? null;
}
