/**
 * The CONNECT origin, run as its own process (`node tunnel-origin.js CERT KEY`): a TLS port and a plain TCP port
 * on 127.0.0.1, printed as one JSON line on stdout. Both speak the same tiny protocol to the bench client:
 *   "BULK <n>\n" -> n bytes, then end     "PING\n" -> "PONG\n"
 *   a TLS ClientHello record (0x16) on the TCP port -> "K", then the connection stays open and idle
 */
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let head = '';
  const onData = (data: Buffer): void => {
    if (head === '' && data[0] === 0x16) {
      socket.off('data', onData);
      socket.write('K');
      socket.resume();
      return;
    }
    head += data.toString('latin1');
    const nl = head.indexOf('\n');
    if (nl === -1) return;
    socket.off('data', onData);
    socket.resume();
    const line = head.slice(0, nl);
    if (line === 'PING') {
      socket.write('PONG\n');
      return;
    }
    const m = /^BULK (\d+)$/.exec(line);
    if (!m) {
      socket.destroy();
      return;
    }
    let left = Number(m[1]);
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  };
  socket.on('data', onData);
}

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) {
  process.stderr.write('usage: tunnel-origin CERT KEY\n');
  process.exit(2);
}
const tls = createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, serve);
const tcp = createTcpServer(serve);
tls.on('tlsClientError', () => {});
tls.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  tcp.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
    const port = (s: typeof tcp) => (s.address() as { port: number }).port;
    process.stdout.write(`${JSON.stringify({ tls: port(tls), tcp: port(tcp) })}\n`);
  });
});
process.on('SIGTERM', () => process.exit(0));
