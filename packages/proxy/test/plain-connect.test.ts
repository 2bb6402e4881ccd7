/**
 * The plain-CONNECT path (server/plain-connect.ts) reads a strict subset of what llhttp reads, and reads it the
 * same way: every head it accepts, node:http's own parser (same limits, strict) hands to its 'connect' event with
 * the same target, an HTTP/1 version and the same trailing bytes. Generated heads (seeded) are checked against a
 * real node:http server; the proxy's own server is checked for the paths around it (split heads, silence, FIN).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { sendRaw } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';
import { parsePlainConnect } from '../src/server/plain-connect.js';
import {
  type RecordingServer,
  readAll,
  startRecordingServer,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

const MAX_BYTES = 2048;
const MAX_COUNT = 8;

const SEEDS = [
  'CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n',
  'CONNECT origin.test:443 HTTP/1.0\r\n\r\n',
  'CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\nHost: [fe80::1%25eth0]:443\r\n\r\n',
  'CONNECT 192.0.2.1:443 HTTP/1.1\r\nhost:192.0.2.1:443\r\nX-Empty:\r\nX-Tab:\ta\tb\t\r\n\r\n\x16\x03\x01\x00\x05hello',
  'CONNECT a_b.test:443 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n\r\nGET / HTTP/1.1\r\n\r\n',
];

describe('parsePlainConnect', () => {
  it('reads the target and where the head ends', () => {
    const seed = SEEDS[3] as string;
    const plain = parsePlainConnect(Buffer.from(seed, 'latin1'), MAX_BYTES, MAX_COUNT);
    expect(plain?.target).toBe('192.0.2.1:443');
    expect(seed.slice(plain?.end)).toBe('\x16\x03\x01\x00\x05hello');
    for (const s of SEEDS)
      expect(parsePlainConnect(Buffer.from(s, 'latin1'), MAX_BYTES, MAX_COUNT)).not.toBe(null);
  });

  // Each is left to node:http: it may refuse it (most) or read it (a lower-case header name is still plain).
  it.each([
    ['another method', 'GET http://origin.test/ HTTP/1.1\r\n\r\n'],
    ['a lower-case method', 'connect origin.test:443 HTTP/1.1\r\n\r\n'],
    ['a leading empty line', '\r\nCONNECT origin.test:443 HTTP/1.1\r\n\r\n'],
    ['two spaces', 'CONNECT  origin.test:443 HTTP/1.1\r\n\r\n'],
    ['a tab for the space', 'CONNECT\torigin.test:443 HTTP/1.1\r\n\r\n'],
    ['no target', 'CONNECT HTTP/1.1\r\n\r\n'],
    ['a slash in the target', 'CONNECT origin.test:443/x HTTP/1.1\r\n\r\n'],
    ['userinfo', 'CONNECT u@origin.test:443 HTTP/1.1\r\n\r\n'],
    ['HTTP/1.2', 'CONNECT origin.test:443 HTTP/1.2\r\n\r\n'],
    ['HTTP/2.0', 'CONNECT origin.test:443 HTTP/2.0\r\n\r\n'],
    ['HTTP/0.9', 'CONNECT origin.test:443 HTTP/0.9\r\n\r\n'],
    ['no version', 'CONNECT origin.test:443\r\n\r\n'],
    ['a bare LF', 'CONNECT origin.test:443 HTTP/1.1\n\r\n'],
    ['a bare LF after a field', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: a\n\r\n'],
    ['a bare CR', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: a\rb\r\n\r\n'],
    ['an obs-fold', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: a\r\n b\r\n\r\n'],
    ['a space before the colon', 'CONNECT origin.test:443 HTTP/1.1\r\nHost : a\r\n\r\n'],
    ['no colon', 'CONNECT origin.test:443 HTTP/1.1\r\nHost\r\n\r\n'],
    ['an empty name', 'CONNECT origin.test:443 HTTP/1.1\r\n: a\r\n\r\n'],
    ['obs-text', 'CONNECT origin.test:443 HTTP/1.1\r\nX: caf\xe9\r\n\r\n'],
    ['a NUL', 'CONNECT origin.test:443 HTTP/1.1\r\nX: a\x00b\r\n\r\n'],
    ['a DEL', 'CONNECT origin.test:443 HTTP/1.1\r\nX: a\x7f\r\n\r\n'],
    ['Content-Length', 'CONNECT origin.test:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n'],
    ['Transfer-Encoding', 'CONNECT origin.test:443 HTTP/1.1\r\ntransfer-ENCODING: chunked\r\n\r\n'],
    ['an unfinished head', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: a\r\n'],
    ['an unfinished line', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: a\r'],
    ['only the method', 'CONNECT '],
    [
      'more fields than the count limit',
      `CONNECT a.test:443 HTTP/1.1\r\n${'X: 1\r\n'.repeat(MAX_COUNT + 1)}\r\n`,
    ],
    ['more bytes than the size limit', `CONNECT a.test:443 HTTP/1.1\r\nX: ${'a'.repeat(MAX_BYTES)}\r\n\r\n`],
  ])('leaves %s to node:http', (_label, head) => {
    expect(parsePlainConnect(Buffer.from(head, 'latin1'), MAX_BYTES, MAX_COUNT)).toBe(null);
  });

  it('takes exactly the count and size limits', () => {
    const fields = `CONNECT a.test:443 HTTP/1.1\r\n${'X: 1\r\n'.repeat(MAX_COUNT)}\r\n`;
    expect(parsePlainConnect(Buffer.from(fields), MAX_BYTES, MAX_COUNT)).not.toBe(null);
    const base = 'CONNECT a.test:443 HTTP/1.1\r\nX: \r\n\r\n';
    const exact = base.replace('X: ', `X: ${'a'.repeat(MAX_BYTES - base.length)}`);
    expect(exact.length).toBe(MAX_BYTES);
    expect(parsePlainConnect(Buffer.from(`${exact}tail`), MAX_BYTES, MAX_COUNT)?.end).toBe(MAX_BYTES);
  });
});

interface NodeRead {
  readonly kind: 'connect' | 'error' | 'request' | 'nothing';
  readonly url?: string | undefined;
  readonly major?: number;
  readonly rest?: Buffer;
}

describe('parsePlainConnect against llhttp (node:http, strict, the same limits)', () => {
  let server: Server;
  let port = 0;
  const pending = new Map<number, (r: NodeRead) => void>();

  beforeAll(async () => {
    server = createServer({ maxHeaderSize: MAX_BYTES, insecureHTTPParser: false, requireHostHeader: false });
    server.maxHeadersCount = MAX_COUNT;
    // Each test connection says its number first (a local port), so answers are matched to inputs.
    const settle = (socket: Socket, r: NodeRead): void => {
      pending.get(socket.remotePort ?? 0)?.(r);
      socket.destroy();
    };
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', () => {});
      const chunks = [head];
      socket.on('data', (d: Buffer) => chunks.push(d));
      // The rest of what was sent (it all went in one write): whatever node read past the head, plus what follows.
      setTimeout(
        () =>
          settle(socket, {
            kind: 'connect',
            url: req.url,
            major: req.httpVersionMajor,
            rest: Buffer.concat(chunks),
          }),
        20,
      );
    });
    server.on('request', (req: IncomingMessage) => settle(req.socket, { kind: 'request' }));
    server.on('clientError', (_err, socket: Socket) => settle(socket, { kind: 'error' }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server?.close();
  });

  function nodeRead(bytes: Buffer): Promise<NodeRead> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        pending.set(socket.localPort ?? 0, resolve);
        socket.write(bytes);
      });
      socket.on('error', () => {});
      socket.on('close', () => setTimeout(() => resolve({ kind: 'nothing' }), 50));
      // node waiting for more of a head this module called complete is a mismatch too.
      setTimeout(() => {
        resolve({ kind: 'nothing' });
        socket.destroy();
      }, 2000).unref();
    });
  }

  const ALPHABET = [
    ...'\r\n \t:%[]@/?#.-_;,="\'()<>{}\\',
    '\x00',
    '\x7f',
    '\x80',
    '\xff',
    '\x0b',
    'a',
    'Z',
    ...'0123456789',
    'HTTP/1.1',
    '\r\n\r\n',
    'Content-Length: 1\r\n',
    'Transfer-Encoding: chunked\r\n',
    'Host: x\r\n',
  ];

  function mutate(rnd: () => number, seed: string): string {
    let s = seed;
    const ops = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < ops; k++) {
      const at = Math.floor(rnd() * (s.length + 1));
      const piece = ALPHABET[Math.floor(rnd() * ALPHABET.length)] as string;
      const op = rnd();
      if (op < 0.4) s = s.slice(0, at) + piece + s.slice(at);
      else if (op < 0.7) s = s.slice(0, at) + piece + s.slice(at + 1);
      else if (op < 0.85) s = s.slice(0, at) + s.slice(at + 1);
      else s = s.slice(0, at) + s.slice(at, at + 1).toUpperCase() + s.slice(at + 1);
    }
    return s;
  }

  it('every generated head it accepts, node:http reads as the same CONNECT', async () => {
    const rnd = seededRandom(0x5eed);
    const inputs: Buffer[] = [];
    for (const seed of SEEDS) inputs.push(Buffer.from(seed, 'latin1'));
    for (let i = 0; i < 2500; i++) {
      inputs.push(Buffer.from(mutate(rnd, SEEDS[i % SEEDS.length] as string), 'latin1'));
    }
    let accepted = 0;
    let declined = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < inputs.length; i += 50) {
      await Promise.all(
        inputs.slice(i, i + 50).map(async (bytes) => {
          const plain = parsePlainConnect(bytes, MAX_BYTES, MAX_COUNT);
          if (plain === null) {
            declined++;
            return;
          }
          accepted++;
          const read = await nodeRead(bytes);
          const same =
            read.kind === 'connect' &&
            read.url === plain.target &&
            read.major === 1 &&
            read.rest?.equals(bytes.subarray(plain.end));
          if (!same)
            mismatches.push(`${JSON.stringify(bytes.toString('latin1'))}: node ${JSON.stringify(read)}`);
        }),
      );
    }
    expect(mismatches).toEqual([]);
    // The subset is not empty, and not everything: both sides of it were exercised.
    expect(accepted).toBeGreaterThan(500);
    expect(declined).toBeGreaterThan(500);
  });
});

describe("the proxy's server around the plain-CONNECT path", () => {
  let origin: RecordingServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    origin = await startRecordingServer('127.0.0.1');
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [origin.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      timeouts: { header_ms: 600 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  async function tunnelThrough(parts: string[]): Promise<string> {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    await once(socket, 'connect');
    for (const p of parts) {
      socket.write(p);
      await new Promise((r) => setTimeout(r, 30));
    }
    socket.end();
    return (await readAll(socket)).toString('latin1');
  }

  it('a head in one segment and the same head in two are tunnelled alike, bytes after it included', async () => {
    const head = `CONNECT origin.test:${origin.port} HTTP/1.1\r\nHost: origin.test:${origin.port}\r\n\r\n`;
    const before = origin.receivedBytes();
    const one = await tunnelThrough([`${head}ping-1`]);
    const two = await tunnelThrough([head.slice(0, 20), `${head.slice(20)}ping-2`]);
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
    expect(two).toMatch(/^HTTP\/1\.1 200 /);
    await expect.poll(() => origin.receivedBytes() - before).toBe('ping-1'.length + 'ping-2'.length);
    expect(Buffer.concat(origin.received).toString('latin1')).toContain('ping-1');
    expect(Buffer.concat(origin.received).toString('latin1')).toContain('ping-2');
  });

  it('a refused plain CONNECT gets its status line and record, as from node:http', async () => {
    const n = proxy.records.length;
    const res = await sendRaw(proxy.port, `CONNECT other.test:${origin.port} HTTP/1.1\r\n\r\n`);
    expect(res.status).toBe(403);
    const rec = await proxy.record(n);
    expect(rec.method).toBe('CONNECT');
    expect(rec.reason).toBe('not_allowlisted');
  });

  it('a client that sends nothing gets a 408 after header_ms and one client_timeout record', async () => {
    const n = proxy.records.length;
    const started = Date.now();
    const res = await sendRaw(proxy.port, '', { quietMs: 3000 });
    expect(res.status).toBe(408);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const rec = await proxy.record(n);
    expect(rec.reason).toBe('client_timeout');
    expect(rec.status).toBe(408);
  });

  it('a client that sends only its FIN is closed with nothing logged', async () => {
    const n = proxy.records.length;
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    await once(socket, 'connect');
    socket.end();
    expect((await readAll(socket)).length).toBe(0);
    await new Promise((r) => setTimeout(r, 800));
    expect(proxy.records.length).toBe(n);
  });

  it('the server closing its connections closes one that has not sent a byte', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    await once(socket, 'connect');
    await new Promise((r) => setTimeout(r, 50));
    const closed = once(socket, 'close');
    proxy.server.closeIdleConnections();
    await closed;
  });
});
