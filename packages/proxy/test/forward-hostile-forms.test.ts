/**
 * More hostile request forms, one row each (forward-hostile.test.ts has the first table): host spellings a client
 * may try (dots, case, UTF-8 and percent-encoded lookalikes, IP literals in the forms Linux connects to loopback
 * with), names whose answers only reach this machine (0.0.0.0, ::, ::1, IPv4-compatible and hex v4-mapped), broken
 * schemes and targets, h2c and HTTP/2, overlong lines and head bytes llhttp refuses. Every row asserts the status,
 * the code in the answer and the access-log line, and that nothing reaches the origin; the canaries on
 * 127.0.0.1, 127.0.0.2 and ::1 (where those answers lead) must never see a connection. No allow_ips: an IP literal stops at
 * `ip_literal`, a name's answers at the guard.
 */
import * as net from 'node:net';
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

describe('forward: hostile request forms', () => {
  let origin: Origin;
  let canary4: Canary;
  let canary6: Canary;
  let canary2: Canary;
  let proxy: ProxyProcess;
  let O: string; // origin authority
  let C4: number; // canary on 127.0.0.1: what 0.0.0.0 and ::ffff:127.0.0.1 reach
  let C6: number; // canary on ::1: what :: reaches

  beforeAll(async () => {
    origin = await startOrigin();
    canary4 = await startCanary('127.0.0.1');
    canary6 = await startCanary('::1');
    C4 = canary4.port;
    // canary.test and the hex v4-mapped answer lead to 127.0.0.2, on the same port.
    canary2 = await startCanary('127.0.0.2', C4);
    C6 = canary6.port;
    O = `origin.test:${origin.port}`;
    proxy = await startProxy({
      ports: [origin.port, C4, C6],
      allow: ['origin.test', 'canary.test', 'bücher.test', '.wild.test'],
      dns: {
        hosts: {
          'origin.test': ['127.0.0.1'],
          'canary.test': ['127.0.0.2'],
          'xn--bcher-kva.test': ['127.0.0.1'],
          'zero.wild.test': ['0.0.0.0'],
          'unspec.wild.test': ['::'],
          'lo6.wild.test': ['::1'],
          'compat.wild.test': ['::127.0.0.1'],
          'hexmapped.wild.test': ['::ffff:7f00:2'],
        },
      },
      // The origin's own address only: 127.0.0.1 as itself, never in another spelling.
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await canary4?.close();
    await canary6?.close();
    await canary2?.close();
  });

  const get = (target: string, extra = ''): string =>
    `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;
  const CHUNKED = 'Transfer-Encoding: chunked\r\n';
  const post = (path: string, te: string, body: string): string =>
    `POST http://${O}${path} HTTP/1.1\r\nHost: x\r\n${te}Connection: close\r\n\r\n${body}`;

  // [name, bytes (built lazily: ports are known only after start), status, X-Cuttle-Deny or X-Cuttle-Error]
  const rows: [string, () => string | Buffer, number, string][] = [
    ['a name with two trailing dots', () => get(`http://origin.test..:${origin.port}/`), 403, 'invalid_host'],
    ['a name with a leading dot', () => get(`http://.origin.test:${origin.port}/`), 403, 'invalid_host'],
    ['the canary name in upper case', () => get(`http://CANARY.TEST:${C4}/`), 403, 'private_address'],
    ['the canary name with a trailing dot', () => get(`http://Canary.Test.:${C4}/`), 403, 'private_address'],
    ['a name answering 0.0.0.0', () => get(`http://zero.wild.test:${C4}/`), 403, 'private_address'],
    ['a name answering ::', () => get(`http://unspec.wild.test:${C6}/`), 403, 'private_address'],
    ['a name answering ::1', () => get(`http://lo6.wild.test:${C6}/`), 403, 'private_address'],
    ['a name answering ::127.0.0.1', () => get(`http://compat.wild.test:${C4}/`), 403, 'private_address'],
    [
      'a name answering ::ffff:7f00:2 (127.0.0.2 as hex v4-mapped)',
      () => get(`http://hexmapped.wild.test:${C4}/`),
      403,
      'private_address',
    ],
    ['0.0.0.0', () => get(`http://0.0.0.0:${C4}/`), 403, 'ip_literal'],
    ['0 (0.0.0.0 as a short form)', () => get(`http://0:${C4}/`), 403, 'ip_literal'],
    ['[::]', () => get(`http://[::]:${C6}/`), 403, 'ip_literal'],
    ['127.0.0.1 with a trailing dot', () => get(`http://127.0.0.1.:${C4}/`), 403, 'ip_literal'],
    ['[::ffff:7f00:1]', () => get(`http://[::ffff:7f00:1]:${C4}/`), 403, 'ip_literal'],
    ['[0:0:0:0:0:ffff:127.0.0.1]', () => get(`http://[0:0:0:0:0:ffff:127.0.0.1]:${C4}/`), 403, 'ip_literal'],
    ['[::127.0.0.1] (IPv4-compatible)', () => get(`http://[::127.0.0.1]:${C4}/`), 403, 'ip_literal'],
    ['localhost', () => get(`http://localhost:${C4}/`), 403, 'not_allowlisted'],
    [
      'the allowed name as a prefix of another',
      () => get(`http://origin.test.evil.test:${C4}/`),
      403,
      'not_allowlisted',
    ],
    [
      'the allowed name as a suffix of another label',
      () => get(`http://evilorigin.test:${C4}/`),
      403,
      'not_allowlisted',
    ],
    [
      'the allowed name in the path only',
      () => get(`http://evil.test:${C4}/origin.test`),
      403,
      'not_allowlisted',
    ],
    ['an underscore for the dot', () => get(`http://origin_test:${origin.port}/`), 403, 'not_allowlisted'],
    ['a zone on a name', () => get(`http://origin.test%25lo:${origin.port}/`), 400, 'bad_target'],
    ['a port with a plus sign', () => get(`http://origin.test:+${origin.port}/`), 400, 'bad_target'],
    ['a port in hex', () => get(`http://origin.test:0x${origin.port.toString(16)}/`), 400, 'bad_target'],
    ['a port with a trailing dot', () => get(`http://origin.test:${origin.port}./`), 400, 'bad_target'],
    [
      'a port past 65535 that wraps to the origin',
      () => get(`http://origin.test:${65_536 + origin.port}/`),
      400,
      'bad_target',
    ],
    ['a port of 14 digits', () => get(`http://origin.test:99999999999${origin.port}/`), 400, 'bad_target'],
    ['a space before the port', () => get(`http://origin.test: ${origin.port}/`), 400, 'bad_request'],
    ['a method in lower case', () => get(`http://${O}/`).replace(/^GET/, 'get'), 400, 'bad_request'],
    ['a method llhttp does not know', () => get(`http://${O}/`).replace(/^GET/, 'FOO'), 400, 'bad_request'],
    [
      'a WebDAV method outside the forwarded set',
      () => get(`http://${O}/`).replace(/^GET/, 'PROPFIND'),
      403,
      'method_denied',
    ],
    [
      'a request pipelined behind a denied CONNECT',
      () => `CONNECT evil.test:443 HTTP/1.1\r\nHost: x\r\n\r\n${get(`http://${O}/after-connect`)}`,
      403,
      'not_allowlisted',
    ],
    ['a port inside the IPv6 brackets', () => get(`http://[::1:${C6}]/`), 403, 'port_denied'],
    [
      'raw UTF-8 in the host',
      () => Buffer.from(get(`http://bücher.test:${origin.port}/`)),
      400,
      'bad_request',
    ],
    [
      'a fullwidth letter as raw UTF-8',
      () => Buffer.from(get(`http://ｏrigin.test:${origin.port}/`)),
      400,
      'bad_request',
    ],
    [
      'a fullwidth letter percent-encoded',
      () => get(`http://%EF%BD%8Frigin.test:${origin.port}/`),
      400,
      'bad_target',
    ],
    [
      'an ideographic full stop',
      () => Buffer.from(get(`http://origin。test:${origin.port}/`)),
      400,
      'bad_request',
    ],
    ['a percent-encoded dot', () => get(`http://origin.test%2e:${origin.port}/`), 400, 'bad_target'],
    ['an empty userinfo', () => get(`http://@origin.test:${origin.port}/`), 400, 'bad_target'],
    ['a tab in the host', () => get(`http://origin.test\t:${origin.port}/`), 400, 'bad_request'],
    ['an empty port', () => get('http://origin.test:/'), 400, 'bad_target'],
    ['a scheme-relative target', () => get(`//origin.test:${origin.port}/`), 400, 'bad_target'],
    ['http:/ with one slash', () => get(`http:/origin.test:${origin.port}/`), 400, 'bad_request'],
    ['http:/// with three slashes', () => get(`http:///origin.test:${origin.port}/`), 400, 'bad_target'],
    ['backslashes for slashes', () => get(`http:\\\\origin.test:${origin.port}/`), 400, 'bad_request'],
    ['an ftp:// target', () => get(`ftp://origin.test:${origin.port}/`), 400, 'bad_target'],
    ['a ws:// target', () => get(`ws://origin.test:${origin.port}/`), 400, 'bad_target'],
    ['OPTIONS *', () => `OPTIONS * HTTP/1.1\r\nHost: ${O}\r\nConnection: close\r\n\r\n`, 400, 'bad_target'],
    [
      'CONNECT with an absolute-form target',
      () => `CONNECT http://${O}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
      400,
      'bad_target',
    ],
    ['the HTTP/2 preface', () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'bad_request'],
    // Request-line versions other than HTTP/1.0 and 1.1 (llhttp takes 2.0 and 0.9, refuses the rest).
    ['HTTP/2.0', () => get(`http://${O}/v20`).replace('HTTP/1.1', 'HTTP/2.0'), 505, 'unsupported_version'],
    ['HTTP/1.2', () => get(`http://${O}/v12`).replace('HTTP/1.1', 'HTTP/1.2'), 505, 'unsupported_version'],
    ['HTTP/9.9', () => get(`http://${O}/v99`).replace('HTTP/1.1', 'HTTP/9.9'), 505, 'unsupported_version'],
    ['HTTP/0.9', () => get(`http://${O}/v09`).replace('HTTP/1.1', 'HTTP/0.9'), 505, 'unsupported_version'],
    ['a request line with no version', () => `GET http://${O}/v0\r\n\r\n`, 505, 'unsupported_version'],
    [
      'a request line with no version and headers',
      () => `GET http://${O}/v0h\r\nHost: x\r\n\r\n`,
      505,
      'unsupported_version',
    ],
    ['HTTP/1.10', () => get(`http://${O}/v110`).replace('HTTP/1.1', 'HTTP/1.10'), 505, 'unsupported_version'],
    [
      'CONNECT with HTTP/2.0',
      () => `CONNECT origin.test:${origin.port} HTTP/2.0\r\nHost: x\r\n\r\n`,
      505,
      'unsupported_version',
    ],
    [
      'CONNECT with HTTP/0.9',
      () => `CONNECT origin.test:${origin.port} HTTP/0.9\r\nHost: x\r\n\r\n`,
      505,
      'unsupported_version',
    ],
    ['a NUL in the target', () => get(`http://${O}/\0`), 400, 'bad_request'],
    ['a space in the target', () => get(`http://${O}/a b`), 400, 'bad_request'],
    ['a space in a header name', () => get(`http://${O}/`, 'X A: b\r\n'), 400, 'bad_request'],
    ['a NUL in a header value', () => get(`http://${O}/`, 'X-A: b\0c\r\n'), 400, 'bad_request'],
    ['a 20 KB request line', () => get(`http://${O}/${'a'.repeat(20_000)}`), 431, 'headers_too_large'],
    [
      'a 20 KB header name',
      () => get(`http://${O}/`, `X-${'a'.repeat(20_000)}: v\r\n`),
      431,
      'headers_too_large',
    ],
    [
      'Transfer-Encoding: chunked twice',
      () =>
        post(
          '/te',
          'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n',
          '5\r\nhello\r\n0\r\n\r\n',
        ),
      400,
      'bad_request',
    ],
    [
      'Transfer-Encoding: chunked, chunked',
      () => post('/te', 'Transfer-Encoding: chunked, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
      400,
      'bad_request',
    ],
    [
      'a Content-Length past 2^64',
      () => post('/cl', 'Content-Length: 99999999999999999999\r\n', 'hello'),
      400,
      'bad_request',
    ],
    [
      'two differing Content-Length',
      () => post('/cl', 'Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'),
      400,
      'bad_request',
    ],
  ];

  it.each(rows)('%s -> %i %s, logged, nothing reaches the origin', async (_name, bytes, status, code) => {
    const before = origin.requests.length;
    const connections = origin.connections;
    const lines = proxy.accessLog().length;
    const res = await sendRaw(proxy.port, bytes());
    expect(res.status).toBe(status);
    expect(res.headers[status === 403 ? 'x-cuttle-deny' : 'x-cuttle-error']).toBe(code);
    if (status !== 403) expect(res.closed).toBe(true);
    await expect.poll(() => proxy.accessLog().length).toBeGreaterThan(lines);
    expect(proxy.accessLog()[lines]).toMatchObject({ status, reason: code });
    expect(origin.requests.length).toBe(before);
    expect(origin.connections).toBe(connections);
    if (code === 'unsupported_version') {
      // One line: whatever follows on the connection (the headers of a request line without a version) is not.
      await new Promise((r) => setTimeout(r, 200));
      expect(proxy.accessLog().length).toBe(lines + 1);
    }
  });

  it.each([
    ['the allowed name with a trailing dot', (p: number) => `http://origin.test.:${p}/dot`],
    [
      'the allowed name in mixed case, the scheme in upper case',
      (p: number) => `HTTP://OrIgIn.TeSt:${p}/case`,
    ],
    ['the allowed IDN as punycode', (p: number) => `http://xn--bcher-kva.test:${p}/idn`],
  ])('forwards %s to the one origin it names', async (_name, target) => {
    const before = origin.requests.length;
    const res = await sendRaw(proxy.port, get(target(origin.port)));
    expect(res.status).toBe(200);
    expect(origin.requests.length).toBe(before + 1);
  });

  it('strips an h2c upgrade: the origin sees neither Upgrade nor HTTP2-Settings', async () => {
    const before = origin.requests.length;
    const res = await sendRaw(
      proxy.port,
      `GET http://${O}/h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\n` +
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(res.raw).not.toMatch(/^HTTP\/1\.1 101/);
    const seen = origin.requests[before];
    expect(seen?.url).toBe('/h2c');
    expect(Object.keys(seen?.headers ?? {}).sort()).toEqual(['connection', 'host']);
  });

  it('decides a request pipelined behind an allowed one on its own: a canary target is denied', async () => {
    const before = origin.requests.length;
    const res = await sendRaw(
      proxy.port,
      `GET http://${O}/first HTTP/1.1\r\nHost: x\r\n\r\n` +
        `GET http://zero.wild.test:${C4}/ HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`,
    );
    expect(res.raw.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 403']);
    expect(res.raw).toMatch(/\r\nX-Cuttle-Deny: private_address\r\n/i);
    expect(origin.requests.slice(before).map((r) => r.url)).toEqual(['/first']);
  });

  // RFC 9110 7.6.2: Max-Forwards counts down on OPTIONS (and TRACE, which cuttle never forwards); at 0 the proxy
  // answers. [name, method, Max-Forwards sent, what the origin gets (null: nothing, the proxy answers 200)]
  it.each([
    ['OPTIONS with Max-Forwards: 0', 'OPTIONS', '0', null],
    ['OPTIONS with Max-Forwards: 00', 'OPTIONS', '00', null],
    ['OPTIONS with Max-Forwards: 5', 'OPTIONS', '5', '4'],
    ['OPTIONS with Max-Forwards: 1', 'OPTIONS', '1', '0'],
    ['OPTIONS with a Max-Forwards that is no number', 'OPTIONS', 'abc', 'abc'],
    ['GET with Max-Forwards: 0 (only OPTIONS and TRACE count)', 'GET', '0', '0'],
  ])('%s', async (_name, method, sent, forwarded) => {
    const before = origin.requests.length;
    const connections = origin.connections;
    const lines = proxy.accessLog().length;
    const res = await sendRaw(
      proxy.port,
      `${method} http://${O}/mf HTTP/1.1\r\nHost: x\r\nMax-Forwards: ${sent}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    const line = (): Record<string, unknown> | undefined =>
      proxy
        .accessLog()
        .slice(lines)
        .find((r) => r.method === method && r.path === '/mf');
    await expect.poll(line).toMatchObject({ status: 200, verdict: 'allow' });
    if (forwarded === null) {
      expect(res.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(origin.requests.length).toBe(before);
      expect(origin.connections).toBe(connections);
    } else {
      expect(origin.requests.length).toBe(before + 1);
      expect(origin.requests[before]?.headers['max-forwards']).toEqual([forwarded]);
    }
  });

  it.each([
    ['TRACE with Max-Forwards: 0', '0'],
    ['TRACE without Max-Forwards', null],
  ])('refuses %s: 403 method_denied (it reflects the request, headers and all)', async (_name, mf) => {
    const before = origin.requests.length;
    const res = await sendRaw(
      proxy.port,
      `TRACE http://${O}/tr HTTP/1.1\r\nHost: x\r\n${mf === null ? '' : `Max-Forwards: ${mf}\r\n`}Connection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-cuttle-deny']).toBe('method_denied');
    expect(origin.requests.length).toBe(before);
  });

  it('denies an OPTIONS with Max-Forwards: 0 to a name off the allowlist: the decision comes first', async () => {
    const res = await sendRaw(
      proxy.port,
      `OPTIONS http://evil.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-cuttle-deny']).toBe('not_allowlisted');
  });

  // A body llhttp refuses once the head is in (the request may already be on its way to the origin): one answer,
  // 400 and close, and one log line for the request, never a silent close or a second line without a method.
  const brokenBodies: [string, () => string][] = [
    [
      'a chunk size past 2^64',
      () => post('/b1', 'Transfer-Encoding: chunked\r\n', 'fffffffffffffffff5\r\nhello\r\n0\r\n\r\n'),
    ],
    [
      'a chunk size with 0x',
      () => post('/b2', 'Transfer-Encoding: chunked\r\n', '0x5\r\nhello\r\n0\r\n\r\n'),
    ],
    [
      'a bare LF after the chunk size',
      () => post('/b3', 'Transfer-Encoding: chunked\r\n', '5\nhello\r\n0\r\n\r\n'),
    ],
    [
      'a bare LF in a chunk extension',
      () => post('/b4', 'Transfer-Encoding: chunked\r\n', '5;a\nb\r\nhello\r\n0\r\n\r\n'),
    ],
    [
      'a chunk without its CRLF',
      () => post('/b5', 'Transfer-Encoding: chunked\r\n', '5\r\nhelloXX0\r\n\r\n'),
    ],
    [
      'a Content-Length in the trailer',
      () => post('/b6', 'Transfer-Encoding: chunked\r\n', '0\r\nContent-Length: 50\r\n\r\n'),
    ],
    [
      'a good chunk, then garbage',
      () => post('/b7', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\nzz\r\n'),
    ],
    [
      'Transfer-Encoding: xchunked',
      () => post('/b8', 'Transfer-Encoding: xchunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
    ],
    ['a CRLF in a quoted chunk extension', () => post('/b9', CHUNKED, '5;a="\r\n"\r\nhello\r\n0\r\n\r\n')],
    ['a space before a chunk extension', () => post('/b10', CHUNKED, '5 ;a=b\r\nhello\r\n0\r\n\r\n')],
    ['an empty chunk extension', () => post('/b11', CHUNKED, '5;\r\nhello\r\n0\r\n\r\n')],
    [
      'a 20 KB chunk extension',
      () => post('/b12', CHUNKED, `5;a=${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`),
    ],
    ['a tab after the chunk size', () => post('/b13', CHUNKED, '5\t\r\nhello\r\n0\r\n\r\n')],
    [
      'Transfer-Encoding in the trailer',
      () => post('/b14', CHUNKED, '5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'),
    ],
  ];

  // Chunked forms llhttp takes: the origin gets the decoded body once, framed by cuttle (nothing of the client's
  // framing, extensions or trailer passes on). [name, chunked body, what the origin must get]
  const inner = 'GET http://canary.test/ HTTP/1.1\r\nHost: canary.test\r\n\r\n';
  it.each([
    ['two chunk extensions', '5;a=b;c\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['a quoted chunk extension with an escape', '5;a="b\\"c"\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['an extension on the last chunk', '5\r\nhello\r\n0;a=b\r\n\r\n', 'hello'],
    ['a trailer field', '5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n', 'hello'],
    ['a chunk size with leading zeros', '0005\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['a request inside a chunk', `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`, inner],
  ])('re-frames a body with %s: the origin gets the decoded bytes, once', async (_name, body, decoded) => {
    const before = origin.requests.length;
    const res = await sendRaw(proxy.port, post('/reframed', CHUNKED, body));
    expect(res.status).toBe(200);
    expect(origin.requests.length).toBe(before + 1);
    expect(origin.requests[before]?.body).toBe(decoded);
    expect(origin.requests[before]?.headers['x-trailer']).toBeUndefined();
  });

  it.each(brokenBodies)('answers %s with 400 bad_request and logs the request once', async (_name, bytes) => {
    await new Promise((r) => setTimeout(r, 300)); // the lines of the tests before are written by now
    const before = origin.requests.length;
    const lines = proxy.accessLog().length;
    const request = bytes();
    const res = await sendRaw(proxy.port, request);
    expect(res.status).toBe(400);
    expect(res.headers['x-cuttle-error']).toBe('bad_request');
    expect(res.closed).toBe(true);
    const posts = (): Record<string, unknown>[] =>
      proxy
        .accessLog()
        .slice(lines)
        .filter((r) => r.method === 'POST');
    await expect.poll(() => posts().length).toBeGreaterThan(0);
    // Anything logged late would be there by now: no second line for it, none without a method.
    await new Promise((r) => setTimeout(r, 300));
    expect(posts()).toHaveLength(1);
    expect(posts()[0]).toMatchObject({ status: 400, reason: 'bad_request', verdict: 'error' });
    expect(
      proxy
        .accessLog()
        .slice(lines)
        .filter((r) => r.method === '-'),
    ).toEqual([]);
    expect(origin.requests.length).toBe(before);
  });

  // RFC 9112 9.6: nothing after a request that says `Connection: close` is processed, and the requests before it are
  // answered in order (llhttp refuses those bytes with HPE_CLOSED_CONNECTION; that must not cost the answers).
  it.each([
    [
      'a request after one that says close',
      ['/c1'],
      ['HTTP/1.1 200'],
      () => `${get(`http://${O}/c1`)}GET http://${O}/c2 HTTP/1.1\r\nHost: x\r\n\r\n`,
    ],
    [
      'a request after a denied one that says close, behind an allowed one',
      ['/c3'],
      ['HTTP/1.1 200', 'HTTP/1.1 403'],
      () =>
        `GET http://${O}/c3 HTTP/1.1\r\nHost: x\r\n\r\n${get('http://evil.test/')}GET http://${O}/c4 HTTP/1.1\r\nHost: x\r\n\r\n`,
    ],
    [
      'garbage after a request that says close',
      ['/c5'],
      ['HTTP/1.1 200'],
      () => `${get(`http://${O}/c5`)}\x01\x02garbage`,
    ],
  ])(
    'answers the requests up to one that says close, and ignores %s',
    async (_name, urls, answers, bytes) => {
      await new Promise((r) => setTimeout(r, 300)); // the lines of the tests before are written by now
      const before = origin.requests.length;
      const lines = proxy.accessLog().length;
      const res = await sendRaw(proxy.port, bytes());
      expect(res.raw.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(answers);
      expect(res.closed).toBe(true);
      expect(origin.requests.slice(before).map((r) => r.url)).toEqual(urls);
      await expect.poll(() => proxy.accessLog().length).toBeGreaterThanOrEqual(lines + answers.length);
      await new Promise((r) => setTimeout(r, 300));
      const logged = proxy.accessLog().slice(lines);
      expect(logged.map((r) => r.status).sort()).toEqual(answers.map((a) => Number(a.slice(-3))).sort());
    },
  );

  // A client that sends its whole upload at once (no Expect: python requests, Node's fetch, curl with `Expect:`)
  // to a destination it may not reach: the proxy closes rather than read the body, and a plain close with
  // unread bytes is a reset, which destroys the answer at the client before it is read.
  it.each([
    ['a name off the allowlist', 1_000_000, () => `http://evil.test:${origin.port}/up`, 'not_allowlisted'],
    [
      'a name off the allowlist, 8 MB',
      8_000_000,
      () => `http://evil.test:${origin.port}/up`,
      'not_allowlisted',
    ],
    ['a name answering 0.0.0.0', 1_000_000, () => `http://zero.wild.test:${C4}/up`, 'private_address'],
  ])('answers an upload to %s with its 403, not a reset', async (_name, size, target, reason) => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    let got = '';
    let error = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST ${target()} HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(Buffer.alloc(size, 0x61));
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect({ error, head: got.slice(0, got.indexOf('\r\n')) }).toEqual({
      error: '',
      head: 'HTTP/1.1 403 Forbidden',
    });
    expect(got).toMatch(new RegExp(`\\r\\nX-Cuttle-Deny: ${reason}\\r\\n`, 'i'));
    expect(got).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('kept every canary silent', () => {
    expect([canary4.connections, canary6.connections, canary2.connections]).toEqual([0, 0, 0]);
  });
});
