/**
 * https absolute-form through the daemon (`cuttle run`, the compiled CLI): the config file's `tls.ca_file` and
 * `connect.http_ports` as an operator writes them, a TLS origin and a plain origin on loopback, the access log as
 * the witness. Needs `pnpm build`.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProxyProcess, sendRaw, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';
import { readAll, sendConnect } from './tunnel-harness.js';

let pki: TestPki;
let dir: string;
let tlsOrigin: Server;
let plainOrigin: Server;
let tlsPort: number;
let plainPort: number;
const seen: string[] = [];
let proxy: ProxyProcess;
let caFile: string;

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  pki = createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'cuttle-hfd-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.ca);
  const leaf = pki.issue(['origin.test']);
  tlsOrigin = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    seen.push(`https ${req.url} ${req.headers.host}`);
    res.end('secure');
  });
  tlsOrigin.on('tlsClientError', () => {});
  plainOrigin = createHttpServer((req, res) => {
    seen.push(`http ${req.url} ${req.headers.host}`);
    res.end('plain');
  });
  tlsPort = await listen(tlsOrigin);
  plainPort = await listen(plainOrigin);
  proxy = await startProxy({
    ports: [tlsPort, plainPort],
    connect_ports: [plainPort],
    connect: { http_ports: [plainPort] },
    allow: ['origin.test', 'wrong.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'], 'wrong.test': ['127.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    tls: { ca_file: caFile },
  });
  // Nothing on a request path reads a file: `tls.ca_file` was read when the config loaded, so the https requests
  // below are verified against what it held then (they used to read it on the first https request).
  rmSync(caFile);
});

afterAll(async () => {
  await proxy?.close();
  for (const s of [tlsOrigin, plainOrigin]) {
    s?.closeAllConnections();
    s?.close();
  }
  pki?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the daemon with tls.ca_file and connect.http_ports', () => {
  it('reads tls.ca_file once, at load: removed after start, https origins still verify against it', async () => {
    expect(existsSync(caFile)).toBe(false);
    const res = await sendRaw(
      proxy.port,
      `GET https://origin.test:${tlsPort}/once HTTP/1.1\r\nHost: origin.test:${tlsPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(seen).toContain(`https /once origin.test:${tlsPort}`);
  });

  it('fetches GET https://... over verified TLS and logs it as allowed', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET https://origin.test:${tlsPort}/d HTTP/1.1\r\nHost: origin.test:${tlsPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(res.raw).toMatch(/secure$/);
    expect(seen).toContain(`https /d origin.test:${tlsPort}`);
    await expect
      .poll(() => proxy.accessLog().find((l) => l.path === '/d'))
      .toMatchObject({ method: 'GET', host: 'origin.test', verdict: 'allow', status: 200 });
  });

  it('answers 502 upstream_tls for a name the certificate does not cover, and logs the reason', async () => {
    const before = seen.length;
    const res = await sendRaw(
      proxy.port,
      `GET https://wrong.test:${tlsPort}/w HTTP/1.1\r\nHost: wrong.test:${tlsPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('upstream_tls');
    expect(seen.length).toBe(before);
    await expect
      .poll(() => proxy.accessLog().find((l) => l.host === 'wrong.test'))
      .toMatchObject({ verdict: 'error', reason: 'upstream_tls', status: 502 });
  });

  it('relays a CONNECT tunnel to the http port whose request names the host, closes one that does not', async () => {
    const good = await sendConnect(
      proxy.port,
      `origin.test:${plainPort}`,
      `GET /t HTTP/1.1\r\nHost: origin.test:${plainPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(good.status).toBe(200);
    expect((await readAll(good.socket, good.rest)).toString()).toMatch(/plain$/);
    expect(seen).toContain(`http /t origin.test:${plainPort}`);
    const before = seen.length;
    const bad = await sendConnect(
      proxy.port,
      `origin.test:${plainPort}`,
      `GET /x HTTP/1.1\r\nHost: wrong.test:${plainPort}\r\n\r\n`,
    );
    expect(bad.status).toBe(200);
    expect((await readAll(bad.socket, bad.rest)).toString()).toMatch(/^HTTP\/1\.1 403 /);
    expect(seen.length).toBe(before);
    await expect
      .poll(() => proxy.accessLog().find((l) => l.reason === 'host_mismatch'))
      .toMatchObject({ method: 'CONNECT', verdict: 'deny', closeReason: 'host_mismatch' });
  });
});
