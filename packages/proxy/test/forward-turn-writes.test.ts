import * as http from 'node:http';
import * as net from 'node:net';
import { type Origin, type ProxyProcess, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Answers are written at the end of the proxy's event-loop turn (core/turn-writes.ts): what a client must see is
// unchanged. Every answer whole and in order on busy keep-alive connections, allowed and denied mixed; a body that
// streams over several turns arriving as it streams, not held until its end; backpressure to a slow reader.

/** What the origin sends for `/n/N`: N bytes of a pattern that tells where a byte went missing. */
function patterned(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + (i >> 10)) % 26);
  return b;
}

/** Reads HTTP/1.1 responses framed by Content-Length off one connection, in order. */
class ResponseReader {
  #buf = Buffer.alloc(0);
  #waiting: (() => void) | null = null;
  closed = false;

  constructor(socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#waiting?.();
    });
  }

  async next(): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        const head = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const c = line.indexOf(':');
          headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
        }
        const length = Number(headers['content-length']);
        if (this.#buf.length >= end + 4 + length) {
          const body = this.#buf.subarray(end + 4, end + 4 + length);
          this.#buf = this.#buf.subarray(end + 4 + length);
          return { status: Number(head[0]?.split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`connection closed with ${this.#buf.length} bytes unparsed`);
      await new Promise<void>((r) => {
        this.#waiting = r;
      });
      this.#waiting = null;
    }
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('forward: answers written at the end of the turn', () => {
  let origin: Origin;
  let proxy: ProxyProcess;
  /** `/slow`: released when the test has seen the first part. */
  let releaseSlow: (() => void) | null = null;

  beforeAll(async () => {
    origin = await startOrigin({
      respond(req, res) {
        const n = /^\/n\/(\d+)$/.exec(req.url);
        if (n) {
          const body = patterned(Number(n[1]));
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
          res.end(body);
          return;
        }
        if (req.url === '/slow') {
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
          res.write('first');
          releaseSlow = () => res.end('-last');
          return;
        }
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
      },
    });
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['turn.test'],
      dns: { hosts: { 'turn.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  it('answers every request whole and in order: 40 keep-alive connections, pipelined, a fifth denied', async () => {
    const sockets = await Promise.all(Array.from({ length: 40 }, () => connect(proxy.port)));
    const sizes = [1, 700, 1024, 5000, 70_000];
    const perConnection = 10;
    const seen = await Promise.all(
      sockets.map(async (s, c) => {
        const reader = new ResponseReader(s);
        const plan: { denied: boolean; size: number }[] = [];
        let wire = '';
        for (let i = 0; i < perConnection; i++) {
          const denied = (c + i) % 5 === 0;
          const size = sizes[(c + i) % sizes.length] as number;
          plan.push({ denied, size });
          const host = denied ? 'other.test' : 'turn.test';
          wire += `GET http://${host}:${origin.port}/n/${size} HTTP/1.1\r\nHost: ${host}:${origin.port}\r\n\r\n`;
        }
        // All of a connection's requests in one write: the proxy answers them one after the other.
        s.write(wire);
        const got: string[] = [];
        for (const p of plan) {
          const r = await reader.next();
          if (p.denied) {
            expect(r.status).toBe(403);
            expect(r.headers['x-cuttle-deny']).toBe('not_allowlisted');
          } else {
            expect(r.status).toBe(200);
            expect(r.body.equals(patterned(p.size))).toBe(true);
          }
          got.push(`${r.status}`);
        }
        s.destroy();
        return got;
      }),
    );
    expect(seen.flat()).toHaveLength(40 * perConnection);
    expect(seen.flat().filter((s) => s === '403')).toHaveLength((40 * perConnection) / 5);
    await expect
      .poll(() => proxy.accessLog().filter((l) => /^\/n\//.test(String(l.path))).length, { timeout: 5000 })
      .toBe(40 * perConnection);
  });

  it('relays a body that streams over several turns as it comes, not once it is complete', async () => {
    const s = await connect(proxy.port);
    const reader = new ResponseReader(s);
    let received = '';
    const firstSeen = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        if (received.includes('first')) resolve();
      });
    });
    s.write(`GET http://turn.test:${origin.port}/slow HTTP/1.1\r\nHost: turn.test:${origin.port}\r\n\r\n`);
    // The origin holds the rest until the client has the first part: a proxy holding the answer would hang here.
    await firstSeen;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toContain('-last');
    releaseSlow?.();
    const r = await reader.next();
    expect(r.body.toString()).toBe('first-last');
    s.destroy();
  });

  it('keeps backpressure to a slow reader: 24 MiB, read in small sips, arrives whole', async () => {
    const size = 24 * 1024 * 1024;
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: proxy.port,
        path: `http://turn.test:${origin.port}/n/${size}`,
        headers: { Host: `turn.test:${origin.port}` },
      });
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.pause();
        const sip = (): void => {
          let c: Buffer | null = res.read(256 * 1024);
          while (c !== null) {
            parts.push(c);
            c = res.read(256 * 1024);
          }
        };
        const timer = setInterval(sip, 2);
        res.on('end', () => {
          clearInterval(timer);
          resolve(Buffer.concat(parts));
        });
        res.on('readable', () => {});
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(body.length).toBe(size);
    expect(body.equals(patterned(size))).toBe(true);
  });
});
