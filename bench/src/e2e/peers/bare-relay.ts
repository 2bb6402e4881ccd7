/**
 * The floor for cuttle's tunnels (`node bare-relay.js PORT [net|http]`): the smallest Node program that answers
 * CONNECT and relays bytes, with no policy, guard, SNI check, log or metrics. Every CONNECT goes to 127.0.0.1 at the
 * requested port (the bench's one allowed name maps there); anything else is answered 501 and closed.
 *
 *   net   a net.Server that reads the CONNECT head itself, then `client.pipe(upstream)` both ways (the default)
 *   http  node:http's 'connect' event (what cuttle uses), then the same pipes: the difference is the HTTP parser
 *   onread  as net, but the upstream socket reads into one reused 256 KiB buffer (`onread`) and writes it to the
 *         client directly (a fresh buffer only while a write is pending): no Readable, no Buffer per read
 *
 * Not a product: it exists so the bench can show how much of cuttle's tunnel cost is Node's own.
 */
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

const READ_BYTES = Number(process.env.BARE_READ_KIB ?? 256) * 1024;

function relay(client: Duplex, target: string, head: Buffer): void {
  const m = /:(\d+)$/.exec(target);
  if (!m) {
    client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  // Only the onread variant reads into it: allocating 256 KiB per tunnel in the others cost the net floor about 34 of
  // its 193 µs per raw set-up on Node 24 (CPU profile, 2026-12-02).
  let buffer = mode === 'onread' ? Buffer.allocUnsafe(READ_BYTES) : Buffer.alloc(0);
  let pending = false;
  const onread =
    mode === 'onread'
      ? {
          buffer: () => {
            if (pending) buffer = Buffer.allocUnsafe(READ_BYTES);
            pending = false;
            return buffer;
          },
          callback: (n: number, buf: Uint8Array): boolean => {
            const ok = client.write(buf.subarray(0, n));
            pending = client.writableLength > 0;
            if (!ok) {
              upstream.pause();
              client.once('drain', () => upstream.resume());
            }
            return true;
          },
        }
      : undefined;
  const upstream = connect({
    host: '127.0.0.1',
    port: Number(m[1]),
    noDelay: true,
    ...(onread ? { onread } : {}),
  });
  const both = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', both);
  upstream.on('error', both);
  client.on('close', both);
  upstream.on('close', both);
  upstream.once('connect', () => {
    client.write(ESTABLISHED);
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    if (onread) upstream.on('end', () => client.end());
    else upstream.pipe(client);
  });
}

function serveNet(socket: Socket): void {
  socket.setNoDelay(true);
  let head: Buffer = Buffer.alloc(0);
  const onData = (d: Buffer): void => {
    head = head.length === 0 ? d : Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > 16_384) socket.destroy();
      return;
    }
    socket.off('data', onData);
    socket.pause();
    const line = head.toString('latin1', 0, head.indexOf('\r\n'));
    const parts = line.split(' ');
    if (parts[0] !== 'CONNECT' || parts[1] === undefined) {
      socket.end('HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    relay(socket, parts[1], head.subarray(end + 4));
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

const [portText, mode = 'net'] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || !['net', 'http', 'onread'].includes(mode)) {
  process.stderr.write('usage: bare-relay PORT [net|http|onread]\n');
  process.exit(2);
}
const server =
  mode !== 'http'
    ? createServer({ noDelay: true }, serveNet)
    : createHttpServer((_req, res) => {
        res.writeHead(501, { connection: 'close' }).end();
      }).on('connect', (req, socket: Duplex, head: Buffer) => {
        (socket as Socket).setNoDelay(true);
        relay(socket, req.url ?? '', head);
      });
server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  process.stderr.write(`bare-relay (${mode}) listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
