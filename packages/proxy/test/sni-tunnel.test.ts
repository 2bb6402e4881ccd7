/**
 * The SNI check through real sockets: a TLS origin with a test CA on loopback behind `origin.test` (static
 * dns.hosts), the proxy's real http.Server, and the origin's own byte count as the witness that nothing crossed
 * before the check passed.
 */
import { once } from 'node:events';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';
import { parseClientHello } from '../src/tunnel/client-hello.js';
import {
  type RecordingServer,
  readAll,
  sendConnect,
  startRecordingServer,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

interface TlsOrigin {
  port: number;
  /** Raw TCP bytes each closed connection had received. */
  readonly bytesPerConnection: number[];
  connections: number;
  server: TlsServer;
}

async function startTlsOrigin(pki: TestPki): Promise<TlsOrigin> {
  const leaf = pki.issue(['origin.test', '127.0.0.1']);
  const origin: TlsOrigin = { port: 0, bytesPerConnection: [], connections: 0, server: undefined as never };
  const server = createTlsServer({ key: leaf.key, cert: leaf.cert }, (tls) => {
    tls.on('error', () => {});
    tls.on('data', (d: Buffer) => tls.write(Buffer.concat([Buffer.from('echo:'), d])));
    tls.on('end', () => tls.end());
  });
  server.on('connection', (raw: Socket) => {
    origin.connections++;
    raw.on('close', () => origin.bytesPerConnection.push(raw.bytesRead));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin.port = (server.address() as { port: number }).port;
  origin.server = server;
  return origin;
}

/** A real ClientHello from node's TLS client for `servername` ('' sends none). */
async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s: Socket) => {
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (parseClientHello(buf).kind !== 'need_more') {
          resolve(buf);
          s.destroy();
        }
      });
    });
  });
  const client = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/** Re-frames a single-record ClientHello into two TLS records split inside the handshake message. */
function splitIntoTwoRecords(hello: Buffer, at: number): Buffer {
  const body = hello.subarray(5);
  const rec = (part: Buffer): Buffer =>
    Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([rec(body.subarray(0, at)), rec(body.subarray(at))]);
}

/** Closes when the socket closes; resolves with whatever error the TLS client reported (or null). */
function tlsThrough(socket: Socket, servername: string, ca: string, host?: string) {
  const tls = tlsConnect({ socket, servername, ca, ...(host ? { host } : {}) });
  const outcome = new Promise<{ ok: boolean; error: Error | null }>((resolve) => {
    tls.once('secureConnect', () => resolve({ ok: true, error: null }));
    tls.once('error', (error) => resolve({ ok: false, error }));
    tls.once('close', () => resolve({ ok: false, error: null }));
  });
  return { tls, outcome };
}

describe('CONNECT SNI check (require_sni: true, the default)', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let raw: RecordingServer;
  let proxy: TestProxy;
  let n = 0;

  beforeAll(async () => {
    pki = createTestPki();
    origin = await startTlsOrigin(pki);
    raw = await startRecordingServer('127.0.0.1');
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [origin.port, raw.port],
      allow: ['origin.test', 'raw.test'],
      allow_ips: ['127.0.0.1/32'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'raw.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      timeouts: { header_ms: 2_000 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    origin?.server.close();
    await raw?.close();
    pki?.dispose();
  });

  it('relays a real TLS handshake whose SNI is the CONNECT host', async () => {
    const answer = await sendConnect(proxy.port, `origin.test:${origin.port}`);
    expect(answer.status).toBe(200);
    expect(answer.head).toBe('HTTP/1.1 200 Connection established');
    const { tls, outcome } = tlsThrough(answer.socket, 'origin.test', pki.ca);
    expect(await outcome).toEqual({ ok: true, error: null });
    expect(tls.authorized).toBe(true);
    tls.write('ping');
    const [reply] = (await once(tls, 'data')) as [Buffer];
    expect(reply.toString()).toBe('echo:ping');
    tls.end();
    const rec = await proxy.record(n++);
    expect(rec).toMatchObject({
      method: 'CONNECT',
      host: 'origin.test',
      port: origin.port,
      verdict: 'allow',
      reason: 'allowlisted',
      status: 200,
      sni: 'origin.test',
      upstream: `127.0.0.1:${origin.port}`,
    });
    expect(rec.bytesUp).toBeGreaterThan(0);
    expect(rec.bytesDown).toBeGreaterThan(0);
    expect(['client_end', 'upstream_end']).toContain(rec.closeReason);
  });

  it.each([
    ['an SNI naming another host', 'origin.test', 'other.test', 'other.test'],
    ['no SNI at all', 'origin.test', '', null],
    // The CONNECT host is normalised (case, one trailing dot) for the decision; the SNI must still be that name.
    ['another SNI after a CONNECT host with a trailing dot', 'origin.test.', 'other.test', 'other.test'],
    ['another SNI after a CONNECT host in upper case', 'ORIGIN.TEST', 'other.test', 'other.test'],
    [
      'an SNI that only looks like the host (punycode)',
      'origin.test',
      'xn--rigin-c4a.test',
      'xn--rigin-c4a.test',
    ],
    ['an SNI with the host as a prefix', 'origin.test', 'origin.test.other.test', 'origin.test.other.test'],
  ])(
    'closes the tunnel on %s and the origin never receives a byte',
    async (_label, host, servername, sni) => {
      const before = origin.bytesPerConnection.length;
      const answer = await sendConnect(proxy.port, `${host}:${origin.port}`);
      expect(answer.status).toBe(200);
      const tls = tlsConnect({ socket: answer.socket, servername, ca: pki.ca });
      tls.on('error', () => {});
      await once(answer.socket, 'close');
      const rec = await proxy.record(n++);
      expect(rec).toMatchObject({
        verdict: 'deny',
        reason: 'sni_mismatch',
        closeReason: 'sni_mismatch',
        sni,
      });
      expect(rec.bytesUp).toBe(0);
      // The upstream connection was opened (200 only once it is up) but closed without a byte.
      while (origin.bytesPerConnection.length === before) await new Promise((r) => setTimeout(r, 20));
      expect(origin.bytesPerConnection.slice(before)).toEqual([0]);
    },
  );

  it('closes a tunnel whose first bytes are not TLS', async () => {
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`);
    expect(answer.status).toBe(200);
    answer.socket.write('GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    await readAll(answer.socket);
    const rec = await proxy.record(n++);
    expect(rec).toMatchObject({ reason: 'sni_mismatch', closeReason: 'sni_mismatch', sni: null });
    expect(raw.receivedBytes()).toBe(before);
  });

  it('passes a ClientHello that arrives one byte per TCP segment, and forwards it unchanged', async () => {
    const hello = await captureClientHello('raw.test');
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`);
    answer.socket.setNoDelay(true);
    for (let i = 0; i < hello.length; i += 97) {
      answer.socket.write(hello.subarray(i, i + 97));
      await new Promise((r) => setTimeout(r, 2));
    }
    while (raw.receivedBytes() - before < hello.length) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(raw.received).subarray(before)).toEqual(hello);
    answer.socket.destroy();
    const rec = await proxy.record(n++);
    expect(rec).toMatchObject({ verdict: 'allow', sni: 'raw.test' });
  });

  it('passes a ClientHello split across two TLS records', async () => {
    const hello = splitIntoTwoRecords(await captureClientHello('raw.test'), 40);
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', sni: 'raw.test' });
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`);
    answer.socket.write(hello);
    while (raw.receivedBytes() - before < hello.length) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(raw.received).subarray(before)).toEqual(hello);
    answer.socket.destroy();
    expect(await proxy.record(n++)).toMatchObject({ verdict: 'allow', sni: 'raw.test' });
  });

  it('checks a ClientHello sent in the same packet as the CONNECT head (head bytes)', async () => {
    const hello = await captureClientHello('other.test');
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`, hello);
    expect(answer.status).toBe(200);
    await readAll(answer.socket, answer.rest);
    expect(await proxy.record(n++)).toMatchObject({ reason: 'sni_mismatch', sni: 'other.test' });
    expect(raw.receivedBytes()).toBe(before);
  });

  it('closes a tunnel whose client sends nothing within header_ms, with nothing sent upstream', async () => {
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`);
    expect(answer.status).toBe(200);
    await readAll(answer.socket, answer.rest);
    expect(await proxy.record(n++)).toMatchObject({ reason: 'sni_mismatch', closeReason: 'sni_mismatch' });
    expect(raw.receivedBytes()).toBe(before);
  });

  it('stops buffering at 16 KiB for a handshake that never completes', async () => {
    const before = raw.receivedBytes();
    const answer = await sendConnect(proxy.port, `raw.test:${raw.port}`);
    expect(answer.status).toBe(200);
    // A ClientHello header announcing 16 MiB, then full-size records of filler.
    const record = (body: Buffer) =>
      Buffer.concat([Buffer.from([22, 3, 1, body.length >> 8, body.length & 0xff]), body]);
    const first = record(Buffer.concat([Buffer.from([1, 0xff, 0xff, 0xff]), Buffer.alloc(16_380)]));
    answer.socket.write(first);
    answer.socket.write(record(Buffer.alloc(16_384)));
    await readAll(answer.socket, answer.rest);
    expect(await proxy.record(n++)).toMatchObject({ reason: 'sni_mismatch', closeReason: 'sni_mismatch' });
    expect(raw.receivedBytes()).toBe(before);
  });

  it('lets an IP-literal CONNECT (allow_ips) through without SNI, and refuses a name in its SNI', async () => {
    const ok = await sendConnect(proxy.port, `127.0.0.1:${origin.port}`);
    expect(ok.status).toBe(200);
    const first = tlsThrough(ok.socket, '', pki.ca, '127.0.0.1');
    expect((await first.outcome).ok).toBe(true);
    first.tls.destroy();
    expect(await proxy.record(n++)).toMatchObject({ verdict: 'allow', reason: 'ip_allowed', sni: null });

    const bad = await sendConnect(proxy.port, `127.0.0.1:${origin.port}`);
    expect(bad.status).toBe(200);
    const second = tlsThrough(bad.socket, 'origin.test', pki.ca);
    expect((await second.outcome).ok).toBe(false);
    expect(await proxy.record(n++)).toMatchObject({ reason: 'sni_mismatch', sni: 'origin.test' });
  });
});

describe('CONNECT with require_sni: false', () => {
  it('relays raw non-TLS bytes both ways', async () => {
    const origin = await startRecordingServer('127.0.0.1', (s) => {
      s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('got:'), d])));
      s.on('end', () => s.end());
    });
    const proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [origin.port],
      allow: ['plain.test'],
      dns: { hosts: { 'plain.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
    });
    try {
      const answer = await sendConnect(proxy.port, `plain.test:${origin.port}`, 'hello');
      expect(answer.status).toBe(200);
      const all = readAll(answer.socket, answer.rest);
      await new Promise((r) => setTimeout(r, 50));
      answer.socket.end();
      expect((await all).toString()).toMatch(/^got:hello/);
      expect(await proxy.record(0)).toMatchObject({ verdict: 'allow', sni: null, bytesUp: 5 });
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});
