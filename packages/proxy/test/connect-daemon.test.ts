/**
 * CONNECT through the real daemon (`cuttle run`, compiled; `pnpm build` first): a TLS handshake with the right SNI,
 * an SNI mismatch that reaches no origin byte and is logged, and a deny that leaves the canary silent. The other
 * tunnel tests drive the same server code in-process, where the relay's buffers can be watched.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { type Canary, type ProxyProcess, startCanary, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';
import { headerOf, readAll, sendConnect } from './tunnel-harness.js';

describe('CONNECT through the cuttle daemon', () => {
  let pki: TestPki;
  let origin: TlsServer;
  let originPort: number;
  const originBytes: number[] = [];
  let canary: Canary;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    pki = createTestPki();
    const leaf = pki.issue(['origin.test']);
    origin = createTlsServer({ key: leaf.key, cert: leaf.cert }, (tls) => {
      tls.on('error', () => {});
      tls.on('data', (d: Buffer) => tls.write(`echo:${d}`));
      tls.on('end', () => tls.end());
    });
    origin.on('connection', (raw: Socket) => raw.on('close', () => originBytes.push(raw.bytesRead)));
    origin.on('tlsClientError', () => {});
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    originPort = (origin.address() as { port: number }).port;
    canary = await startCanary('127.0.0.2');
    proxy = await startProxy({
      connect_ports: [originPort, canary.port],
      allow: ['origin.test', 'canary.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'], 'canary.test': ['127.0.0.2'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await canary?.close();
    origin?.close();
    pki?.dispose();
  });

  async function logged(n: number): Promise<Record<string, unknown>[]> {
    while (proxy.accessLog().length < n) await new Promise((r) => setTimeout(r, 20));
    return proxy.accessLog();
  }

  it('relays TLS with the CONNECT host as SNI and logs the tunnel once', async () => {
    const answer = await sendConnect(proxy.port, `origin.test:${originPort}`);
    expect(answer.status).toBe(200);
    const tls = tlsConnect({ socket: answer.socket, servername: 'origin.test', ca: pki.ca });
    await once(tls, 'secureConnect');
    tls.write('ping');
    const [reply] = (await once(tls, 'data')) as [Buffer];
    expect(reply.toString()).toBe('echo:ping');
    tls.end();
    const [line] = await logged(1);
    expect(line).toMatchObject({
      method: 'CONNECT',
      host: 'origin.test',
      verdict: 'allow',
      sni: 'origin.test',
    });
  });

  it('closes on an SNI mismatch before any byte reaches the origin, and logs sni_mismatch', async () => {
    const closedBefore = originBytes.length;
    const answer = await sendConnect(proxy.port, `origin.test:${originPort}`);
    expect(answer.status).toBe(200);
    const tls = tlsConnect({ socket: answer.socket, servername: 'canary.test', ca: pki.ca });
    tls.on('error', () => {});
    await once(answer.socket, 'close');
    const lines = await logged(2);
    expect(lines[1]).toMatchObject({
      verdict: 'deny',
      reason: 'sni_mismatch',
      closeReason: 'sni_mismatch',
      sni: 'canary.test',
    });
    while (originBytes.length === closedBefore) await new Promise((r) => setTimeout(r, 20));
    expect(originBytes.slice(closedBefore)).toEqual([0]);
  });

  it('denies a name whose answer is private and an IP literal; the canary stays silent', async () => {
    for (const [target, reason] of [
      [`canary.test:${canary.port}`, 'private_address'],
      [`127.0.0.2:${canary.port}`, 'ip_literal'],
    ] as const) {
      const answer = await sendConnect(proxy.port, target);
      await readAll(answer.socket, answer.rest);
      expect(answer.status).toBe(403);
      expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe(reason);
    }
    expect(canary.connections).toBe(0);
  });
});
