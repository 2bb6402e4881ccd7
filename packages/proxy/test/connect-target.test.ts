/**
 * CONNECT targets and decisions through the proxy's real server: every refused form gets its status line (never a
 * silent close) and the canaries (another loopback address, `::1`) never see a connection.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { type Origin, startOrigin } from '@cuttle/test-support';
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

describe('CONNECT target forms and decisions', () => {
  let origin: RecordingServer;
  let canary4: RecordingServer;
  let canary6: RecordingServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    origin = await startRecordingServer('127.0.0.1');
    canary4 = await startRecordingServer('127.0.0.2');
    canary6 = await startRecordingServer('::1');
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [origin.port, canary4.port, canary6.port],
      allow: ['origin.test', 'private.test', 'mapped.test', 'nat64.test', 'mixed.test'],
      dns: {
        hosts: {
          'origin.test': ['127.0.0.1'],
          'private.test': ['127.0.0.2'],
          'mapped.test': ['::ffff:127.0.0.2'],
          'nat64.test': ['64:ff9b::7f00:2'],
          'mixed.test': ['127.0.0.1', '127.0.0.2'],
        },
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await canary4?.close();
    await canary6?.close();
  });

  // [label, target, status, X-Cuttle-Deny or X-Cuttle-Error]
  const cases = (): [string, string, number, string][] => [
    ['no port', 'origin.test', 400, 'bad_target'],
    ['userinfo', `user:pw@origin.test:${origin.port}`, 400, 'bad_target'],
    ['a path', `origin.test:${origin.port}/x`, 400, 'bad_target'],
    ['absolute-form', `http://origin.test:${origin.port}`, 400, 'bad_target'],
    ['a leading zero in the port', `origin.test:0${origin.port}`, 400, 'bad_target'],
    ['port 0', 'origin.test:0', 400, 'bad_target'],
    ['port 65536', 'origin.test:65536', 400, 'bad_target'],
    ['an empty port', 'origin.test:', 400, 'bad_target'],
    ['unbracketed IPv6', `::1:${canary6.port}`, 400, 'bad_target'],
    // llhttp itself refuses a backslash in the target: the server's clientError answers.
    ['a backslash', `origin.test\\@127.0.0.2:${canary4.port}`, 400, 'bad_request'],
    ['a percent-encoded host', `127.0.0.%32:${canary4.port}`, 400, 'bad_target'],
    ['the canary IPv4 literal', `127.0.0.2:${canary4.port}`, 403, 'ip_literal'],
    ['the canary as a decimal integer', `2130706434:${canary4.port}`, 403, 'ip_literal'],
    ['the canary in hex', `0x7f.0.0.2:${canary4.port}`, 403, 'ip_literal'],
    ['the canary as a short form', `127.2:${canary4.port}`, 403, 'ip_literal'],
    ['bracketed ::1', `[::1]:${canary6.port}`, 403, 'ip_literal'],
    ['bracketed v4-mapped canary', `[::ffff:127.0.0.2]:${canary4.port}`, 403, 'ip_literal'],
    ['a name not on the allowlist', `evil.test:${origin.port}`, 403, 'not_allowlisted'],
    ['an allowed name on a port outside connect_ports', 'origin.test:80', 403, 'connect_port_denied'],
    ['an allowed name on 443 when connect_ports lacks it', 'origin.test:443', 403, 'connect_port_denied'],
    ['a name whose static answer is private', `private.test:${canary4.port}`, 403, 'private_address'],
    ['a v4-mapped answer of the canary', `mapped.test:${canary4.port}`, 403, 'private_address'],
    ['a NAT64 answer embedding the canary', `nat64.test:${canary4.port}`, 403, 'private_address'],
    ['mixed answers, one private', `mixed.test:${origin.port}`, 403, 'private_address'],
  ];

  it('answers every refused target with a status line and closes; no canary sees a connection', async () => {
    for (const [label, target, status, code] of cases()) {
      const before = proxy.records.length;
      const answer = await sendConnect(proxy.port, target);
      const body = (await readAll(answer.socket, answer.rest)).toString();
      expect({ label, status: answer.status }).toEqual({ label, status });
      const header = status === 403 ? 'X-Cuttle-Deny' : 'X-Cuttle-Error';
      expect({ label, code: headerOf(answer.head, header) }).toEqual({ label, code });
      expect(headerOf(answer.head, 'Connection')).toBe('close');
      expect(body.length).toBeGreaterThan(0);
      const rec = await proxy.record(before);
      expect({ label, reason: rec.reason, status: rec.status }).toEqual({ label, reason: code, status });
      if (code === 'private_address') expect(rec.answers?.length).toBeGreaterThan(0);
    }
    expect(canary4.connections).toBe(0);
    expect(canary6.connections).toBe(0);
    expect(origin.connections).toBe(0);
  });

  it('a refused CONNECT with pipelined bytes still gets its whole answer', async () => {
    const answer = await sendConnect(proxy.port, `evil.test:${origin.port}`, Buffer.alloc(64 * 1024, 0x16));
    const all = await readAll(answer.socket, answer.rest);
    expect(answer.status).toBe(403);
    expect(all.toString()).toContain('not_allowlisted');
    expect(origin.connections).toBe(0);
  });

  it('logs mixed answers in full on a private_address deny', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `mixed.test:${origin.port}`);
    await readAll(answer.socket, answer.rest);
    const rec = await proxy.record(before);
    expect(rec.answers).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(rec.upstream).toBeNull();
  });
});

describe('CONNECT to 443: names whose answers only reach this machine, and more target forms', () => {
  let canary: RecordingServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    canary = await startRecordingServer('127.0.0.2');
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      allow: ['origin.test', '.wild.test'],
      dns: {
        hosts: {
          'origin.test': ['127.0.0.1'],
          'loop.wild.test': ['127.0.0.2'],
          'meta.wild.test': ['169.254.169.254'],
          'll6.wild.test': ['fe80::1'],
          'zero.wild.test': ['0.0.0.0'],
          'unspec.wild.test': ['::'],
          'lo6.wild.test': ['::1'],
          'hexmapped.wild.test': ['::ffff:7f00:2'],
          'sixto4.wild.test': ['2002:7f00:2::1'],
          'teredo.wild.test': ['2001:0:7f00:2::1'],
          'ula.wild.test': ['fd00::1'],
        },
      },
      // connect_ports is the default (443): the guard, not the port, must stop these.
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await canary?.close();
  });

  // [target, status, X-Cuttle-Deny or X-Cuttle-Error]
  const rows: [string, number, string][] = [
    ['loop.wild.test:443', 403, 'private_address'],
    ['meta.wild.test:443', 403, 'private_address'],
    ['ll6.wild.test:443', 403, 'private_address'],
    ['zero.wild.test:443', 403, 'private_address'],
    ['unspec.wild.test:443', 403, 'private_address'],
    ['lo6.wild.test:443', 403, 'private_address'],
    ['hexmapped.wild.test:443', 403, 'private_address'],
    ['sixto4.wild.test:443', 403, 'private_address'],
    ['teredo.wild.test:443', 403, 'private_address'],
    ['ula.wild.test:443', 403, 'private_address'],
    ['LOOP.Wild.Test.:443', 403, 'private_address'],
    ['0:443', 403, 'ip_literal'],
    ['0.0.0.0:443', 403, 'ip_literal'],
    ['[::]:443', 403, 'ip_literal'],
    ['[fe80::1%25lo]:443', 403, 'ip_literal'],
    ['[::ffff:7f00:2]:443', 403, 'ip_literal'],
    ['localhost:443', 403, 'not_allowlisted'],
    ['origin.test..:443', 403, 'invalid_host'],
    ['*.wild.test:443', 403, 'invalid_host'],
    ['.wild.test:443', 403, 'invalid_host'],
    ['a..wild.test:443', 403, 'invalid_host'],
    ['origin.test:443:443', 400, 'bad_target'],
    ['[origin.test]:443', 400, 'bad_target'],
    ['origin.test%2e:443', 400, 'bad_target'],
  ];

  it.each(rows)('CONNECT %s -> %i %s, logged; nothing is connected', async (target, status, code) => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, target);
    await readAll(answer.socket, answer.rest);
    expect(answer.status).toBe(status);
    expect(headerOf(answer.head, status === 403 ? 'X-Cuttle-Deny' : 'X-Cuttle-Error')).toBe(code);
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ method: 'CONNECT', status, reason: code, upstream: null });
    expect(canary.connections).toBe(0);
  });
});

describe('a CONNECT pipelined behind a request still being answered', () => {
  let web: Origin;
  let raw: RecordingServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    // The GET's answer comes 200 ms late: the CONNECT behind it is parsed long before.
    web = await startOrigin({
      respond: (_req, res) => {
        setTimeout(() => res.end('slow answer'), 200);
      },
    });
    raw = await startRecordingServer('127.0.0.1');
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      ports: [web.port],
      connect_ports: [raw.port],
      connect: { require_sni: false },
      allow: ['web.test', 'raw.test'],
      dns: { hosts: { 'web.test': ['127.0.0.1'], 'raw.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await web?.close();
    await raw?.close();
  });

  /** Writes `bytes` in one go and collects the answer until the proxy closes or 1.5 s pass. */
  async function pipeline(bytes: string): Promise<string> {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    await once(socket, 'connect');
    socket.write(bytes);
    await new Promise((r) => {
      socket.once('close', r);
      setTimeout(r, 1_500);
    });
    socket.destroy();
    return got;
  }

  const get = (): string => `GET http://web.test:${web.port}/first HTTP/1.1\r\nHost: web.test\r\n\r\n`;

  it('answers the request first, then the denied CONNECT', async () => {
    const before = proxy.records.length;
    const got = await pipeline(`${get()}CONNECT evil.test:${raw.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(got.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 403']);
    expect(got).toMatch(/\r\n\r\nslow answer/);
    while (proxy.records.length < before + 2) await new Promise((r) => setTimeout(r, 20));
    const recs = proxy.records.slice(before);
    expect(recs.find((r) => r.method === 'GET')).toMatchObject({ status: 200, closeReason: null });
    expect(recs.find((r) => r.method === 'CONNECT')).toMatchObject({
      status: 403,
      reason: 'not_allowlisted',
    });
  });

  it('answers the request first, then opens the tunnel: no answer lands inside it', async () => {
    const bytesBefore = raw.receivedBytes();
    const got = await pipeline(
      `${get()}CONNECT raw.test:${raw.port} HTTP/1.1\r\nHost: x\r\n\r\nhello-tunnel`,
    );
    expect(got).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nslow answerHTTP\/1\.1 200 Connection established\r\n\r\n$/,
    );
    await expect.poll(() => raw.receivedBytes() - bytesBefore).toBe('hello-tunnel'.length);
  });
});
