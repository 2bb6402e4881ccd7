/**
 * `GET https://...` absolute-form (busybox wget's way of using http_proxy for https URLs): cuttle decides with the
 * same policy (port 443 by default, checked against `ports`), opens TLS to the checked address and verifies the
 * origin's certificate for the host (system CAs plus `tls.ca_file`). Real sockets: the proxy's http.Server, TLS
 * origins on loopback with a test CA made at test time; what each origin received is the witness.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../test-support/tls.js';
import { headerOf, startTestProxy, type TestProxy } from './tunnel-harness.js';

interface TlsOrigin {
  port: number;
  /** Request lines and Host headers the origin received over HTTP. */
  readonly requests: string[];
  /** Raw TCP connections accepted. */
  connections: number;
  /** The proxy's port of the connection each request path came on, and the ports of connections closed since. */
  readonly portOf: Map<string, number>;
  readonly closedPorts: Set<number>;
  server: HttpsServer;
}

async function startOrigin(key: string, cert: string): Promise<TlsOrigin> {
  const origin: TlsOrigin = {
    port: 0,
    requests: [],
    connections: 0,
    portOf: new Map(),
    closedPorts: new Set(),
    server: undefined as never,
  };
  const server = createHttpsServer({ key, cert }, (req, res) => {
    origin.requests.push(`${req.method} ${req.url} host=${req.headers.host}`);
    origin.portOf.set(req.url ?? '', req.socket.remotePort ?? 0);
    // An interim 100 nothing asked for (cuttle never sends Expect upstream): passed over, as over plain HTTP.
    if (req.url === '/continue') res.writeContinue();
    if (req.url === '/flood') {
      // Interim heads without end: 20 100s and a 102 every 5 ms, until the proxy closes the connection.
      const timer = setInterval(() => {
        if (res.socket === null || res.socket.destroyed) {
          clearInterval(timer);
          return;
        }
        for (let i = 0; i < 20; i++) res.writeContinue();
        res.writeProcessing();
      }, 5);
      res.once('close', () => clearInterval(timer));
      return;
    }
    res.setHeader('Content-Type', 'text/plain');
    res.end(`tls-origin ${req.url}`);
  });
  server.on('connection', (socket: Socket) => {
    origin.connections++;
    const port = socket.remotePort ?? 0;
    socket.once('close', () => origin.closedPorts.add(port));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin.port = (server.address() as { port: number }).port;
  origin.server = server;
  return origin;
}

/** Sends one raw request to the proxy and reads the whole answer (the proxy closes: Connection: close). */
async function rawRequest(
  proxyPort: number,
  head: string,
): Promise<{ status: number; head: string; body: string }> {
  const socket: Socket = connect({ host: '127.0.0.1', port: proxyPort });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(head);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => socket.once('close', r));
  const text = Buffer.concat(chunks).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { status: m ? Number(m[1]) : 0, head: text.slice(0, end), body: text.slice(end + 4) };
}

const get = (url: string): string => {
  const host = /^https?:\/\/([^/]+)/i.exec(url)?.[1] ?? '';
  return `GET ${url} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
};

let dir: string;
let good: TlsOrigin;
let wrongName: TlsOrigin;
/** Same certificate as `good`, on its own port: the interim flood gets a pool of its own. */
let flooder: TlsOrigin;
let proxy: TestProxy;
let noCa: TestProxy;
let switchedOff: TestProxy;
let guarded: TestProxy;

beforeAll(async () => {
  const pki = createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'cuttle-hfw-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.ca);
  const leaf = pki.issue(['origin.test']);
  good = await startOrigin(leaf.key, leaf.cert);
  flooder = await startOrigin(leaf.key, leaf.cert);
  const other = pki.issue(['elsewhere.test']);
  wrongName = await startOrigin(other.key, other.cert);
  const base = {
    clients: ['127.0.0.0/8'],
    allow: ['origin.test', 'mismatch.test', 'guarded.test'],
    dns: {
      hosts: {
        'origin.test': ['127.0.0.1'],
        'mismatch.test': ['127.0.0.1'],
        'guarded.test': ['127.0.0.1'],
        'denied.test': ['127.0.0.1'],
      },
    },
    ports: [good.port, wrongName.port, flooder.port],
  };
  proxy = await startTestProxy({
    ...base,
    destinations: { allow_ranges: ['127.0.0.0/8'] },
    tls: { ca_file: caFile },
  });
  noCa = await startTestProxy({ ...base, destinations: { allow_ranges: ['127.0.0.0/8'] } });
  switchedOff = await startTestProxy({
    ...base,
    destinations: { allow_ranges: ['127.0.0.0/8'] },
    tls: { ca_file: caFile },
    forward: { https_absolute_form: false },
  });
  // No allow_ranges: loopback answers hit the private-address guard.
  guarded = await startTestProxy({ ...base, tls: { ca_file: caFile } });
});

afterAll(async () => {
  for (const p of [proxy, noCa, switchedOff, guarded]) await p?.close();
  for (const o of [good, wrongName, flooder]) o?.server.closeAllConnections();
  for (const o of [good, wrongName, flooder]) o?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('https absolute-form through cuttle', () => {
  it('forwards an allowed name over verified TLS; the origin sees origin-form and the Host', async () => {
    const answer = await rawRequest(proxy.port, get(`https://origin.test:${good.port}/hello?x=1`));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('tls-origin /hello?x=1');
    expect(good.requests).toContain(`GET /hello?x=1 host=origin.test:${good.port}`);
    const rec = proxy.records.at(-1);
    expect(rec).toMatchObject({ verdict: 'allow', host: 'origin.test', port: good.port, status: 200 });
  });

  it('passes over an unsolicited 100 Continue from a TLS origin and relays the final answer', async () => {
    const answer = await rawRequest(proxy.port, get(`https://origin.test:${good.port}/continue`));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('tls-origin /continue');
    expect(proxy.records.at(-1)).toMatchObject({ verdict: 'allow', path: '/continue', status: 200 });
  });

  it('answers interim heads without end from a TLS origin with 502 bad_response and closes that connection', async () => {
    const answer = await rawRequest(proxy.port, get(`https://origin.test:${flooder.port}/flood`));
    expect(answer.status).toBe(502);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('bad_response');
    expect(proxy.records.at(-1)).toMatchObject({ path: '/flood', status: 502, reason: 'bad_response' });
    // Closed, never pooled: the next request comes on another connection.
    const flood = flooder.portOf.get('/flood');
    await expect.poll(() => flooder.closedPorts.has(flood ?? -1)).toBe(true);
    const after = await rawRequest(proxy.port, get(`https://origin.test:${flooder.port}/after-flood`));
    expect(after.status).toBe(200);
    expect(flooder.portOf.get('/after-flood')).not.toBe(flood);
  });

  it('denies a name not on the allowlist with 403 and never connects', async () => {
    const before = good.connections;
    const answer = await rawRequest(proxy.port, get(`https://denied.test:${good.port}/`));
    expect(answer.status).toBe(403);
    expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe('not_allowlisted');
    expect(good.connections).toBe(before);
  });

  it('checks the port against `ports` (443 by default, not in this policy)', async () => {
    const answer = await rawRequest(proxy.port, get('https://origin.test/'));
    expect(answer.status).toBe(403);
    expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe('port_denied');
  });

  it('answers 502 upstream_tls when the certificate names another host; the origin saw no request', async () => {
    const before = wrongName.connections;
    const answer = await rawRequest(proxy.port, get(`https://mismatch.test:${wrongName.port}/secret`));
    expect(answer.status).toBe(502);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_tls');
    expect(answer.body).toMatch(/certificate could not be verified/);
    expect(wrongName.connections).toBeGreaterThan(before);
    expect(wrongName.requests).toEqual([]);
    expect(proxy.records.at(-1)).toMatchObject({ verdict: 'error', reason: 'upstream_tls', status: 502 });
  });

  it('answers 502 upstream_tls without tls.ca_file (the test CA is not a system CA); no request reached the origin', async () => {
    const seen = good.requests.length;
    const answer = await rawRequest(noCa.port, get(`https://origin.test:${good.port}/nope`));
    expect(answer.status).toBe(502);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_tls');
    expect(good.requests.length).toBe(seen);
  });

  it('answers 502 upstream_tls when the origin does not speak TLS; no request reached it', async () => {
    const seen: string[] = [];
    const plain = createHttpServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('plain');
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const port = (plain.address() as { port: number }).port;
    const p = await startTestProxy({
      clients: ['127.0.0.0/8'],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      ports: [port],
      destinations: { allow_ranges: ['127.0.0.0/8'] },
    });
    try {
      const answer = await rawRequest(p.port, get(`https://origin.test:${port}/x`));
      expect(answer.status).toBe(502);
      expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_tls');
      expect(seen).toEqual([]);
    } finally {
      await p.close();
      plain.closeAllConnections();
      plain.close();
    }
  });

  it('still applies the private-address guard', async () => {
    const before = good.connections;
    const answer = await rawRequest(guarded.port, get(`https://guarded.test:${good.port}/`));
    expect(answer.status).toBe(403);
    expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe('private_address');
    expect(good.connections).toBe(before);
  });

  it('refuses https absolute-form with 400 bad_target when forward.https_absolute_form is false', async () => {
    const before = good.connections;
    const answer = await rawRequest(switchedOff.port, get(`https://origin.test:${good.port}/`));
    expect(answer.status).toBe(400);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('bad_target');
    expect(good.connections).toBe(before);
  });

  it('reuses the TLS connection for a second request on a kept-alive client connection', async () => {
    const before = good.connections;
    const url = `https://origin.test:${good.port}/`;
    const one = `GET ${url}a HTTP/1.1\r\nHost: origin.test:${good.port}\r\n\r\n`;
    const two = `GET ${url}b HTTP/1.1\r\nHost: origin.test:${good.port}\r\nConnection: close\r\n\r\n`;
    const answer = await rawRequest(proxy.port, one + two);
    expect(answer.status).toBe(200);
    expect(good.requests.slice(-2)).toEqual([
      `GET /a host=origin.test:${good.port}`,
      `GET /b host=origin.test:${good.port}`,
    ]);
    expect(good.connections - before).toBeLessThanOrEqual(1);
  });
});
