/**
 * CONNECT to a `connect.http_ports` port (plain HTTP in the tunnel, as Node's fetch sends `http://` URLs): the first
 * request must name the CONNECT host and port. Real sockets: the proxy's http.Server, a recording origin on
 * loopback behind `origin.test` (static dns.hosts), whose received bytes are the witness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  headerOf,
  type RecordingServer,
  readAll,
  sendConnect,
  startRecordingServer,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

let origin: RecordingServer;
let proxy: TestProxy;
let seed: TestProxy;

beforeAll(async () => {
  origin = await startRecordingServer('127.0.0.1', (socket) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      origin.received.push(chunk);
      got = Buffer.concat([got, chunk]);
      if (got.includes('\r\n\r\n'))
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\norigin');
    });
  });
  const base = {
    clients: ['127.0.0.0/8'],
    allow: ['origin.test', 'other.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.0/8'] },
    timeouts: { header_ms: 1000 },
  };
  proxy = await startTestProxy({
    ...base,
    ports: [origin.port],
    connect_ports: [origin.port],
    connect: { http_ports: [origin.port] },
  });
  // The seed's CONNECT policy: only 443 (and no http_ports).
  seed = await startTestProxy(base);
});

afterAll(async () => {
  await proxy?.close();
  await seed?.close();
  await origin?.close();
});

const cases: { name: string; request: (port: number) => string; pass: boolean; answer403: boolean }[] = [
  {
    name: 'origin-form with the CONNECT host',
    request: (p) => `GET /a HTTP/1.1\r\nHost: origin.test:${p}\r\nConnection: close\r\n\r\n`,
    pass: true,
    answer403: false,
  },
  {
    name: 'Host in another case with a trailing dot',
    request: (p) => `GET /b HTTP/1.1\r\nhost: ORIGIN.test.:${p}\r\nConnection: close\r\n\r\n`,
    pass: true,
    answer403: false,
  },
  {
    name: 'absolute-form naming the CONNECT host',
    request: (p) => `GET http://origin.test:${p}/c HTTP/1.1\r\nHost: origin.test:${p}\r\n\r\n`,
    pass: true,
    answer403: false,
  },
  {
    name: 'Host naming another allowed name',
    request: (p) => `GET / HTTP/1.1\r\nHost: other.test:${p}\r\n\r\n`,
    pass: false,
    answer403: true,
  },
  {
    name: 'Host without the port (means 80)',
    request: () => 'GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n',
    pass: false,
    answer403: true,
  },
  {
    name: 'absolute-form naming another host',
    request: (p) => `GET http://other.test:${p}/ HTTP/1.1\r\nHost: origin.test:${p}\r\n\r\n`,
    pass: false,
    answer403: true,
  },
  {
    name: 'two Host headers',
    request: (p) => `GET / HTTP/1.1\r\nHost: origin.test:${p}\r\nHost: other.test:${p}\r\n\r\n`,
    pass: false,
    answer403: true,
  },
  {
    name: 'no Host header',
    request: () => 'GET / HTTP/1.1\r\n\r\n',
    pass: false,
    answer403: true,
  },
  {
    name: 'userinfo in Host',
    request: (p) => `GET / HTTP/1.1\r\nHost: other.test@origin.test:${p}\r\n\r\n`,
    pass: false,
    answer403: true,
  },
  {
    name: 'a TLS ClientHello (not HTTP)',
    request: () => '\x16\x03\x01\x00\x05hello',
    pass: false,
    answer403: false,
  },
  {
    name: 'HTTP/2 preface (not HTTP/1.x)',
    request: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    pass: false,
    answer403: false,
  },
];

describe('CONNECT to a connect.http_ports port', () => {
  for (const c of cases) {
    it(`${c.pass ? 'relays' : 'closes on'} ${c.name}`, async () => {
      const before = origin.receivedBytes();
      const index = proxy.records.length;
      const request = c.request(origin.port);
      const answer = await sendConnect(proxy.port, `origin.test:${origin.port}`, request);
      expect(answer.status).toBe(200);
      const rest = (await readAll(answer.socket, answer.rest)).toString('latin1');
      const rec = await proxy.record(index);
      if (c.pass) {
        expect(rest).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*origin$/);
        expect(origin.receivedBytes() - before).toBe(Buffer.byteLength(request, 'latin1'));
        expect(rec).toMatchObject({ verdict: 'allow', reason: 'allowlisted', status: 200 });
      } else {
        expect(origin.receivedBytes()).toBe(before);
        expect(rec).toMatchObject({ verdict: 'deny', reason: 'host_mismatch', closeReason: 'host_mismatch' });
        if (c.answer403) {
          expect(rest).toMatch(/^HTTP\/1\.1 403 /);
          expect(headerOf(rest, 'X-Cuttle-Deny')).toBe('host_mismatch');
        } else {
          expect(rest).toBe('');
        }
      }
    });
  }

  it('closes a tunnel whose client sends nothing within header_ms, nothing sent upstream', async () => {
    const before = origin.receivedBytes();
    const index = proxy.records.length;
    const answer = await sendConnect(proxy.port, `origin.test:${origin.port}`);
    expect(answer.status).toBe(200);
    expect((await readAll(answer.socket, answer.rest)).length).toBe(0);
    expect(await proxy.record(index)).toMatchObject({ verdict: 'deny', reason: 'host_mismatch' });
    expect(origin.receivedBytes()).toBe(before);
  });

  it('the seed policy still refuses CONNECT to the origin port (connect_ports has 443 only)', async () => {
    const before = origin.connections;
    const answer = await sendConnect(seed.port, `origin.test:${origin.port}`, 'GET / HTTP/1.1\r\n\r\n');
    expect(answer.status).toBe(403);
    expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe('connect_port_denied');
    answer.socket.destroy();
    expect(origin.connections).toBe(before);
  });
});
