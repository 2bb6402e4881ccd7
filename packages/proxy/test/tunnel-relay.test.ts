/**
 * The established tunnel: backpressure both ways (20 MiB through a slow reader while the proxy's write buffers stay
 * small), half-close, idle timeout, counts and one record per tunnel. No timing assertions: slow readers only make
 * backpressure necessary, they are not measured.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RecordingServer,
  readAll,
  sendConnect,
  startRecordingServer,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

const SIZE = 20 * 1024 * 1024;
/** Far above what a backpressured relay holds (a few 64 KiB chunks), far below the 20 MiB a missing one would. */
const BUFFER_BOUND = 2 * 1024 * 1024;

function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(i, i);
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `data` in 64 KiB pieces, honouring the socket's own backpressure, then ends. */
async function writeAll(socket: Socket, data: Buffer): Promise<void> {
  for (let i = 0; i < data.length; i += 65_536) {
    if (!socket.write(data.subarray(i, i + 65_536))) await once(socket, 'drain');
  }
  socket.end();
}

/** Reads slowly (pause after each chunk, resume on a timer) until the peer ends. */
function readSlowly(socket: Socket, first: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const chunks = [first];
  return new Promise((resolve) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.resume();
  });
}

describe('tunnel relay', () => {
  const data = payload(SIZE);
  let down: RecordingServer;
  let up: RecordingServer;
  let echo: RecordingServer;
  let silent: RecordingServer;
  let proxy: TestProxy;
  let upReceived: Promise<Buffer>;

  beforeAll(async () => {
    // Sends 20 MiB to whoever connects.
    down = await startRecordingServer('127.0.0.1', (s) => {
      s.resume();
      void writeAll(s, data);
    });
    // Reads slowly whatever comes.
    let gotUp: (b: Buffer) => void = () => {};
    upReceived = new Promise((r) => {
      gotUp = r;
    });
    up = await startRecordingServer('127.0.0.1', (s) => {
      void readSlowly(s).then(gotUp);
    });
    // Half-close: answers only once the client has finished sending.
    echo = await startRecordingServer('127.0.0.1', (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`reply to ${Buffer.concat(chunks).toString()}`));
    });
    silent = await startRecordingServer('127.0.0.1', () => {});
    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [down.port, up.port, echo.port, silent.port],
      allow: ['.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      timeouts: { tunnel_idle_ms: 1_000 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    for (const s of [down, up, echo, silent]) await s?.close();
  });

  async function sampleWhile<T>(work: Promise<T>): Promise<{ result: T; maxBuffered: number }> {
    let maxBuffered = 0;
    const timer = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, proxy.tunnels.bufferedBytes());
    }, 5);
    try {
      return { result: await work, maxBuffered };
    } finally {
      clearInterval(timer);
    }
  }

  it('carries 20 MiB down to a slow reader with bounded proxy buffers', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `origin.test:${down.port}`);
    expect(answer.status).toBe(200);
    const { result, maxBuffered } = await sampleWhile(readSlowly(answer.socket, answer.rest));
    expect(result.length).toBe(SIZE);
    expect(sha(result)).toBe(sha(data));
    expect(maxBuffered).toBeLessThan(BUFFER_BOUND);
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ bytesDown: SIZE, bytesUp: 0, closeReason: 'upstream_end', status: 200 });
  });

  it('carries 20 MiB up to a slow origin with bounded proxy buffers', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `origin.test:${up.port}`);
    expect(answer.status).toBe(200);
    answer.socket.resume();
    const { result, maxBuffered } = await sampleWhile(writeAll(answer.socket, data).then(() => upReceived));
    expect(sha(result)).toBe(sha(data));
    expect(maxBuffered).toBeLessThan(BUFFER_BOUND);
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ bytesUp: SIZE, bytesDown: 0, closeReason: 'client_end' });
  });

  it('passes a half-close on: the origin answers after the client has finished sending', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `origin.test:${echo.port}`, 'question');
    expect(answer.status).toBe(200);
    answer.socket.end();
    const reply = await readAll(answer.socket, answer.rest);
    expect(reply.toString()).toBe('reply to question');
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ bytesUp: 8, bytesDown: 17, closeReason: 'client_end' });
  });

  it('closes a tunnel with no traffic either way after tunnel_idle_ms', async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `origin.test:${silent.port}`);
    expect(answer.status).toBe(200);
    await readAll(answer.socket, answer.rest);
    expect(await proxy.record(before)).toMatchObject({ closeReason: 'idle_timeout', verdict: 'allow' });
  });

  it('takes the origin down when the client resets mid-transfer', async () => {
    const before = proxy.records.length;
    const closedBefore = down.connections;
    const answer = await sendConnect(proxy.port, `origin.test:${down.port}`);
    expect(answer.status).toBe(200);
    answer.socket.once('data', () => answer.socket.resetAndDestroy());
    answer.socket.resume();
    const rec = await proxy.record(before);
    expect(['error', 'client_end']).toContain(rec.closeReason);
    expect(rec.bytesDown).toBeLessThan(SIZE);
    expect(down.connections).toBe(closedBefore + 1);
  });

  it('leaves no tunnel open once all are done', async () => {
    while (proxy.tunnels.openCount() > 0) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.tunnels.openCount()).toBe(0);
  });
});

describe('tunnel lifetime', () => {
  it("outlives the server's header and keep-alive timeouts while traffic flows, and closes on drain", async () => {
    const echo = await startRecordingServer('127.0.0.1', (s) => {
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    });
    const proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [echo.port],
      allow: ['origin.test'],
      dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      connect: { require_sni: false },
      timeouts: { header_ms: 200, keepalive_ms: 200, tunnel_idle_ms: 5_000 },
    });
    try {
      const answer = await sendConnect(proxy.port, `origin.test:${echo.port}`);
      expect(answer.status).toBe(200);
      answer.socket.resume();
      let echoed = 0;
      answer.socket.on('data', (d: Buffer) => {
        echoed += d.length;
      });
      // Several header/keep-alive periods (and node's 1 s timeout check) pass with the tunnel in use.
      for (let i = 0; i < 15; i++) {
        answer.socket.write('x');
        await new Promise((r) => setTimeout(r, 100));
      }
      while (echoed < 15 && !answer.socket.closed) await new Promise((r) => setTimeout(r, 20));
      expect(answer.socket.closed).toBe(false);
      expect(echoed).toBe(15);
      expect(proxy.tunnels.closeAll()).toBe(1);
      await readAll(answer.socket);
      expect(await proxy.record(0)).toMatchObject({ closeReason: 'drain', bytesUp: 15, bytesDown: 15 });
    } finally {
      await proxy.close();
      await echo.close();
    }
  });
});
