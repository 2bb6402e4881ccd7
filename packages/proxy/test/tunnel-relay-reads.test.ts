/**
 * The relay reads the upstream into a reused buffer (tunnel/relay.ts, UpstreamReads). A chunk the client socket has
 * not flushed yet still points into that buffer, so the next read must go elsewhere. A real upstream socket sends
 * small distinct pieces; the client is a stream whose writes complete late (a full socket, as seen from the relay)
 * and keeps every chunk by reference: what it finally holds must be what the origin sent.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, UpstreamReads } from '../src/tunnel/relay.js';

const PIECES = Array.from({ length: 60 }, (_, i) => Buffer.alloc(1000, i + 1));

/** An origin that sends one 1000-byte piece per 2 ms (each arrives as a read of its own), and the relay's upstream to it. */
async function pacedUpstream(): Promise<{ reads: UpstreamReads; upstream: Socket }> {
  server = createServer((s) => {
    let i = 0;
    const next = (): void => {
      const piece = PIECES[i++];
      if (piece === undefined) {
        s.end();
        return;
      }
      s.write(piece);
      setTimeout(next, 2);
    };
    next();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const reads = new UpstreamReads();
  const upstream: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, onread: reads.onread });
  await once(upstream, 'connect');
  return { reads, upstream };
}

let server: Server | undefined;

/**
 * Relays `upstream` to a client stream whose every write completes 10 ms late, with `highWaterMark`; `take` is what
 * the client keeps of a chunk when its write completes. Resolves with what it kept, once the origin's end arrived.
 */
async function relayToLateClient(
  reads: UpstreamReads,
  upstream: Socket,
  highWaterMark: number,
  take: (chunk: Buffer) => Buffer,
): Promise<Buffer[]> {
  const received: Buffer[] = [];
  const client = new Duplex({
    writableHighWaterMark: highWaterMark,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      setTimeout(() => {
        received.push(take(chunk));
        callback();
      }, 10);
    },
  });
  const finished = once(client, 'finish');
  const relay = startRelay(client, upstream, { idleMs: 10_000, reads }, () => {});
  await finished;
  relay.close('client_end');
  return received;
}

describe('tunnel relay reads', () => {
  afterEach(() => {
    server?.close();
  });

  it('never reads into a buffer that a pending client write still holds', async () => {
    const { reads, upstream } = await pacedUpstream();

    // Each write completes 10 ms late, and the high-water mark is far above the total: the relay is never told to
    // stop reading, while the chunks it wrote wait in the client's queue.
    const received = await relayToLateClient(reads, upstream, 1 << 20, (chunk) => chunk);

    expect(Buffer.concat(received).equals(Buffer.concat(PIECES))).toBe(true);
  });

  it('reads into the same buffer again only after the client drained what was written from it', async () => {
    const { reads, upstream } = await pacedUpstream();

    // Every write is over the high-water mark (the relay stops reading until 'drain') and completes 10 ms late;
    // the bytes are taken when it completes, as a socket hands them to the kernel then.
    const received = await relayToLateClient(reads, upstream, 1, (chunk) => Buffer.from(chunk));

    expect(Buffer.concat(received).equals(Buffer.concat(PIECES))).toBe(true);
  });

  it.each([
    ['a first line and a FIN', '220 banner\r\n'],
    ['a FIN alone', ''],
  ])('delivers what the origin sent before the relay started: %s', async (_name, banner) => {
    // A server that speaks first (or not at all) and closes its side at once, while the tunnel is still checked.
    server = createServer((s) => s.end(banner));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const reads = new UpstreamReads();
    const upstream: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, onread: reads.onread });
    await once(upstream, 'connect');
    await new Promise((r) => setTimeout(r, 100));

    const received: Buffer[] = [];
    const client = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        callback();
      },
    });
    const finished = once(client, 'finish');
    const relay = startRelay(client, upstream, { idleMs: 10_000, reads }, () => {});
    await finished;
    relay.close('client_end');
    expect(Buffer.concat(received).toString()).toBe(banner);
  });
});
