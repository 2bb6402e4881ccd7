import {
  type Canary,
  type Origin,
  type ProxyProcess,
  sendRaw,
  startCanary,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Hostile request heads, one row each, sent as exact bytes. The origin on 127.0.0.1 is the only allowed
// destination; canaries on 127.0.0.2, on another port of 127.0.0.1 and on ::1 must never see a connection.
const HEADER_LIMIT = 20;

describe('forward: hostile requests', () => {
  let origin: Origin;
  let canaries: Canary[];
  let proxy: ProxyProcess;
  let O: string; // origin authority
  let C2: number; // canary port on 127.0.0.2
  let CP: number; // canary port on 127.0.0.1 (not in `ports`)
  let C6: number; // canary port on ::1

  beforeAll(async () => {
    origin = await startOrigin();
    canaries = [await startCanary('127.0.0.2'), await startCanary('127.0.0.1'), await startCanary('::1')];
    C2 = canaries[0]!.port;
    CP = canaries[1]!.port;
    C6 = canaries[2]!.port;
    O = `origin.test:${origin.port}`;
    proxy = await startProxy({
      ports: [origin.port, C2, C6],
      allow: ['origin.test', 'canary.test'],
      allow_ips: ['127.0.0.0/8', '::1/128', '::ffff:0:0/96', '64:ff9b::/96'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'canary.test': ['127.0.0.2'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      limits: { max_header_count: HEADER_LIMIT, max_header_bytes: 16_384 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    for (const c of canaries ?? []) await c.close();
  });

  const filler = (n: number): string => Array.from({ length: n }, (_, i) => `X-Fill-${i}: v\r\n`).join('');

  // [name, bytes (built lazily: ports are known only after start), expected status]
  const rows: [string, () => string, number][] = [
    [
      'fragment hiding another host',
      () => `GET http://${O}/#@127.0.0.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      400,
    ],
    [
      'userinfo naming the allowed host',
      () => `GET http://${O}@127.0.0.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      400,
    ],
    [
      'userinfo in front of a canary',
      () => `GET http://origin.test@canary.test:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      400,
    ],
    ['backslash before @', () => `GET http://127.0.0.2:${C2}\\@${O}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['percent-encoded host', () => `GET http://%31%32%37.0.0.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['origin-form request', () => `GET / HTTP/1.1\r\nHost: ${O}\r\n\r\n`, 400],
    [
      'https absolute-form to a canary by name',
      () => `GET https://canary.test:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      403,
    ],
    [
      'port with a leading zero',
      () => `GET http://origin.test:0${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      400,
    ],
    [
      'canary by name resolving to 127.0.0.2',
      () => `GET http://canary.test:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      403,
    ],
    ['canary as dotted quad', () => `GET http://127.0.0.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary as a decimal integer', () => `GET http://2130706434:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary as hex', () => `GET http://0x7f000002:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary as octal', () => `GET http://0177.0.0.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary as short form', () => `GET http://127.2:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    [
      'canary as v4-mapped IPv6',
      () => `GET http://[::ffff:127.0.0.2]:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      403,
    ],
    ['canary as NAT64 IPv6', () => `GET http://[64:ff9b::7f00:2]:${C2}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary on ::1', () => `GET http://[::1]:${C6}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['canary on ::1 with a zone', () => `GET http://[::1%25lo]:${C6}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    [
      'allowed name on a port outside the list',
      () => `GET http://origin.test:${CP}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      403,
    ],
    ['method outside the forwarded set', () => `TRACE http://${O}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 403],
    ['duplicate Host', () => `GET http://${O}/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400],
    [
      'Content-Length with Transfer-Encoding',
      () =>
        `POST http://${O}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
    [
      'duplicate Content-Length',
      () => `POST http://${O}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
      400,
    ],
    [
      'list-valued Content-Length',
      () => `POST http://${O}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello`,
      400,
    ],
    [
      'signed Content-Length',
      () => `POST http://${O}/ HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello`,
      400,
    ],
    [
      'a transfer coding other than chunked',
      () => `POST http://${O}/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
    ['obs-fold', () => `GET http://${O}/ HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n`, 400],
    ['bare LF line ends', () => `GET http://${O}/ HTTP/1.1\nHost: x\n\n`, 400],
    ['bare LF inside the head', () => `GET http://${O}/ HTTP/1.1\r\nHost: x\nX-B: y\r\n\r\n`, 400],
    ['bare CR inside a value', () => `GET http://${O}/ HTTP/1.1\r\nHost: x\r\nX-B: y\rz\r\n\r\n`, 400],
    [
      'space before the colon',
      () => `GET http://${O}/ HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n`,
      400,
    ],
    [
      'a header past the byte limit',
      () => `GET http://${O}/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    [
      'headers reaching the count limit',
      () => `GET http://${O}/ HTTP/1.1\r\nHost: x\r\n${filler(HEADER_LIMIT)}\r\n`,
      431,
    ],
    [
      'a Content-Length hidden past the count limit, smuggling a second request',
      () => {
        const smuggled = `GET http://${O}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`;
        return `GET http://${O}/first HTTP/1.1\r\nHost: x\r\n${filler(HEADER_LIMIT + 5)}Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
      },
      431,
    ],
    [
      'Transfer-Encoding hidden past the count limit',
      () =>
        `POST http://${O}/first HTTP/1.1\r\nHost: x\r\n${filler(HEADER_LIMIT + 5)}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://${O}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
    ],
  ];

  it.each(rows)('%s -> %i, and nothing reaches the origin', async (_name, bytes, status) => {
    const before = origin.requests.length;
    const res = await sendRaw(proxy.port, bytes());
    expect(res.status).toBe(status);
    if (status >= 400 && status !== 403) expect(res.closed).toBe(true);
    if (status === 403) expect(res.headers['x-cuttle-deny']).toBeTruthy();
    expect(origin.requests.length).toBe(before);
  });

  it('accepts a head just below the header-count limit', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://${O}/below HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${filler(HEADER_LIMIT - 3)}\r\n`,
    );
    expect(res.status).toBe(200);
  });

  it('serves no request pipelined behind a rejected one', async () => {
    const before = origin.requests.length;
    const res = await sendRaw(
      proxy.port,
      `GET http://${O}/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET http://${O}/pipelined HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(res.raw.match(/HTTP\/1\.1/g)?.length).toBe(1);
    expect(origin.requests.length).toBe(before);
  });

  it('rewrites a mismatching Host from the target', async () => {
    const before = origin.requests.length;
    const res = await sendRaw(
      proxy.port,
      `GET http://${O}/host HTTP/1.1\r\nHost: 127.0.0.2:${C2}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(origin.requests[before]?.headers.host).toEqual([O]);
  });

  it('kept every canary silent', () => {
    expect(canaries.map((c) => c.connections)).toEqual([0, 0, 0]);
  });
});
