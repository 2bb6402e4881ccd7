/**
 * A reload that changes `tls.ca_file` is applied to pooled origin connections too: an idle https connection that
 * was verified under the old CAs is never reused for a request under the new ones (it would skip verification).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProxyProcess, sendRaw } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';
import { listenLoopback, patchConfig, startProxyToLoopback } from './ops-support.js';

let trusted: TestPki;
let other: TestPki;
let dir: string;
let origin: Server;
let port: number;
let proxy: ProxyProcess;
const seen: string[] = [];

beforeAll(async () => {
  trusted = createTestPki();
  other = createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'cuttle-rca-'));
  writeFileSync(join(dir, 'trusted.pem'), trusted.ca);
  writeFileSync(join(dir, 'other.pem'), other.ca);
  const leaf = trusted.issue(['origin.test']);
  // Keeps idle connections open well past the test, so the proxy's pooled connection is there to be reused.
  origin = createServer({ key: leaf.key, cert: leaf.cert, keepAliveTimeout: 60_000 }, (req, res) => {
    seen.push(req.url ?? '');
    res.end('secure');
  });
  origin.on('tlsClientError', () => {});
  port = await listenLoopback(origin);
  proxy = await startProxyToLoopback(port, { tls: { ca_file: join(dir, 'trusted.pem') } });
});

afterAll(async () => {
  await proxy?.close();
  origin?.closeAllConnections();
  origin?.close();
  trusted?.dispose();
  other?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (path: string): string =>
  `GET https://origin.test:${port}${path} HTTP/1.1\r\nHost: origin.test:${port}\r\nConnection: close\r\n\r\n`;

describe('reload of tls.ca_file and the origin pool', () => {
  it('verifies the next request under the reloaded CAs instead of reusing a connection verified under the old', async () => {
    const first = await sendRaw(proxy.port, get('/before'));
    expect(first.status).toBe(200);
    expect(seen).toEqual(['/before']);

    patchConfig(proxy, { tls: { ca_file: join(dir, 'other.pem') } });
    proxy.child.kill('SIGHUP');
    await proxy.waitForStderr(/reloaded .*\n/);

    const after = await sendRaw(proxy.port, get('/after'));
    expect(after.status).toBe(502);
    expect(after.headers['x-cuttle-error']).toBe('upstream_tls');
    expect(seen).toEqual(['/before']);
  });
});
