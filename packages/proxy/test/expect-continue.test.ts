/**
 * `Expect: 100-continue` (RFC 9110 section 10.1.1): the client is invited to send its body only once the policy and
 * the guard have allowed the request. A denied one gets its 403 and no 100.
 */
import * as net from 'node:net';
import { type Origin, type ProxyProcess, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let origin: Origin;
let proxy: ProxyProcess;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startProxy({
    ports: [origin.port],
    allow: ['origin.test', 'private.test'],
    dns: { hosts: { 'origin.test': ['127.0.0.1'], 'private.test': ['10.0.0.1'] } },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
  });
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

/** Sends only the head, waits `ms`, returns what arrived meanwhile (and the socket, to go on). */
async function sendHead(head: string, ms = 500): Promise<{ got: string; socket: net.Socket }> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  socket.on('error', () => {});
  let got = '';
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(head);
  await new Promise((r) => setTimeout(r, ms));
  return { got, socket };
}

const head = (url: string): string =>
  `POST ${url} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`;

describe('Expect: 100-continue', () => {
  it.each([
    ['not allowlisted', 'http://denied.test:PORT/'],
    ['port denied', 'http://origin.test:1/'],
    ['private address, after the lookup', 'http://private.test:PORT/'],
  ])('a denied request (%s) gets its 403 and no 100 Continue', async (_name, url) => {
    const { got, socket } = await sendHead(head(url.replace('PORT', String(origin.port))));
    socket.destroy();
    expect(got).not.toContain('100 Continue');
    expect(got).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('an allowed request gets 100 Continue, then its body reaches the origin', async () => {
    const { got, socket } = await sendHead(head(`http://origin.test:${origin.port}/up`));
    expect(got).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    let rest = '';
    socket.on('data', (d: Buffer) => {
      rest += d.toString('latin1');
    });
    socket.write('hello');
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(rest).toMatch(/^HTTP\/1\.1 200 /);
    expect(origin.requests.find((r) => r.url === '/up')?.body).toBe('hello');
  });
});
