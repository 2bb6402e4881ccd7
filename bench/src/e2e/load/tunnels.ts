/**
 * CONNECT load from the bench process: one bulk tunnel, tunnel set-up rate, and many idle tunnels. Against the
 * tunnel origin's tiny protocol (see peers/tunnel-origin.ts). `proxyPort` null connects straight to the origin
 * (the direct baseline).
 */
import { connect, createServer, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export interface TunnelTarget {
  /** The proxy, or null for the direct baseline. */
  readonly proxyPort: number | null;
  readonly host: string;
  readonly port: number;
}

/** Opens a TCP connection through CONNECT (or directly); resolves once the proxy answered 200. */
export function openTunnel(t: TunnelTarget, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: t.proxyPort ?? t.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('tunnel set-up timed out'));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      if (t.proxyPort === null) {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
        return;
      }
      socket.write(`CONNECT ${t.host}:${t.port} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\n\r\n`);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.pause();
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.[01] 200/.test(status)) {
          fail(new Error(`CONNECT answered "${status}"`));
          return;
        }
        const rest = head.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', onClose);
        resolve(socket);
      };
      const onClose = () => fail(new Error('proxy closed before answering CONNECT'));
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  });
}

function startTls(socket: Socket, servername: string, timeoutMs = 10_000): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      tls.destroy();
      reject(new Error('TLS handshake timed out'));
    }, timeoutMs);
    const tls = tlsConnect({ socket, servername, rejectUnauthorized: false }, () => {
      clearTimeout(timer);
      resolve(tls);
    });
    tls.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reads the whole stream; resolves with the byte count (short if the stream closed early or timed out). */
function drain(s: Socket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`bulk transfer stalled: ${n} bytes after ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      n += d.length;
    });
    s.once('end', () => {
      clearTimeout(timer);
      resolve(n);
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve(n);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.resume();
  });
}

export interface BulkResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly mibPerSec: number;
}

/**
 * Read buffer of the raw bulk client, reused from read to read. A raw tunnel is read through net's `onread` instead
 * of 'data' events (a new 64 KiB Buffer per read, freed by the GC): the client shares the load CPU with the tunnel
 * origin and, in the raw rows, spent more CPU per MiB than the proxy under test, so its own cost set the pace.
 * The same client measures every target, direct included.
 */
const RAW_READ_BYTES = 256 * 1024;

/** Downloads `bytes` over one tunnel (TLS inside it if `tls`), timed from the request to the last byte. */
export async function runBulk(t: TunnelTarget, tls: boolean, bytes: number): Promise<BulkResult> {
  const stallMs = 30_000 + (bytes / 2 ** 20 / 10) * 1000;
  if (!tls) {
    const { got, seconds } = await rawBulk(t, bytes, stallMs);
    if (got !== bytes) throw new Error(`bulk tunnel delivered ${got} of ${bytes} bytes`);
    return { bytes, seconds, mibPerSec: bytes / 2 ** 20 / seconds };
  }
  const raw = await openTunnel(t);
  const s = await startTls(raw, t.host);
  const start = performance.now();
  s.write(`BULK ${bytes}\n`);
  const got = await drain(s, stallMs);
  const seconds = (performance.now() - start) / 1000;
  s.destroy();
  if (got !== bytes) throw new Error(`bulk tunnel delivered ${got} of ${bytes} bytes`);
  return { bytes, seconds, mibPerSec: bytes / 2 ** 20 / seconds };
}

/**
 * A raw bulk download read through `onread` into one reused buffer: the CONNECT answer is parsed from the first
 * reads, then bytes are only counted. Timed from the request to the last byte, as the TLS path.
 */
function rawBulk(t: TunnelTarget, bytes: number, stallMs: number): Promise<{ got: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    // The proxy's answer so far; null once the tunnel is up (at once for the direct baseline).
    let head: Buffer | null = null;
    let got = 0;
    let start = 0;
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(setupTimer);
      clearTimeout(stallTimer);
      const seconds = (performance.now() - start) / 1000;
      socket.destroy();
      if (err) reject(err);
      else resolve({ got, seconds });
    };
    const request = (): void => {
      clearTimeout(setupTimer);
      start = performance.now();
      stallTimer = setTimeout(
        () => finish(new Error(`bulk transfer stalled: ${got} bytes after ${stallMs} ms`)),
        stallMs,
      );
      socket.write(`BULK ${bytes}\n`);
    };
    const onRead = (n: number, buf: Uint8Array): boolean => {
      if (head === null) {
        got += n;
        return true;
      }
      head = Buffer.concat([head, buf.subarray(0, n)]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return true;
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.[01] 200/.test(status)) {
        finish(new Error(`CONNECT answered "${status}"`));
        return false;
      }
      got += head.length - (end + 4);
      head = null;
      request();
      return true;
    };
    const socket = connect({
      host: '127.0.0.1',
      port: t.proxyPort ?? t.port,
      noDelay: true,
      onread: { buffer: Buffer.allocUnsafe(RAW_READ_BYTES), callback: onRead },
    });
    const setupTimer = setTimeout(() => finish(new Error('tunnel set-up timed out')), 10_000);
    let stallTimer: NodeJS.Timeout | undefined;
    socket.once('connect', () => {
      if (t.proxyPort === null) {
        request();
        return;
      }
      head = Buffer.alloc(0);
      socket.write(`CONNECT ${t.host}:${t.port} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\n\r\n`);
    });
    socket.once('end', () => finish(start === 0 ? new Error('proxy closed before answering CONNECT') : null));
    socket.once('close', () =>
      finish(start === 0 ? new Error('proxy closed before answering CONNECT') : null),
    );
    socket.once('error', (err) => finish(err));
    socket.resume();
  });
}

export interface SetupResult {
  readonly completed: number;
  readonly errors: number;
  readonly perSec: number;
}

async function onePing(t: TunnelTarget, tls: boolean): Promise<void> {
  const raw = await openTunnel(t);
  const s: Socket = tls ? await startTls(raw, t.host) : raw;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no PONG within 10 s')), 10_000);
      s.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      s.once('error', reject);
      s.once('close', () => reject(new Error('closed before PONG')));
      s.write('PING\n');
      s.resume();
    });
  } finally {
    s.destroy();
  }
}

/** Tunnels set up per second: `concurrency` loops of connect, CONNECT, (TLS handshake,) PING/PONG, close. */
export async function runSetupRate(
  t: TunnelTarget,
  tls: boolean,
  concurrency: number,
  durationS: number,
): Promise<SetupResult> {
  let completed = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await onePing(t, tls);
        completed++;
      } catch {
        errors++;
        if (errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { completed, errors, perSec: completed / seconds };
}

/**
 * The first flight of a real TLS client for `servername` (a ClientHello record), captured once from a local
 * listener; sent as the first bytes of idle tunnels so a proxy's SNI check sees a genuine hello.
 */
export async function captureClientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = createServer((sock) => {
      sock.once('data', (d: Buffer) => {
        resolve(d);
        sock.destroy();
        srv.close();
      });
    });
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (srv.address() as { port: number }).port;
      const c = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      c.on('error', () => {});
    });
    srv.once('error', reject);
  });
}

/** Idle tunnels held open: close them all with `close()`. */
export interface IdleTunnels {
  readonly opened: number;
  readonly errors: number;
  close(): void;
}

/**
 * Opens `count` tunnels to the origin's TCP port, `concurrency` at a time; each sends `hello` and waits for the
 * origin's "K", so the tunnel is known to reach the origin, then stays idle.
 */
export async function openIdleTunnels(
  t: TunnelTarget,
  count: number,
  concurrency: number,
  hello: Buffer,
): Promise<IdleTunnels> {
  const sockets: Socket[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const s = await openTunnel(t, 30_000);
        s.on('error', () => {});
        await new Promise<void>((resolve, reject) => {
          setTimeout(() => reject(new Error('no answer through the tunnel within 30 s')), 30_000).unref();
          s.once('data', () => resolve());
          s.once('close', () => reject(new Error('closed')));
          s.write(hello);
          s.resume();
        });
        sockets.push(s);
      } catch {
        errors++;
        if (errors > 200) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    opened: sockets.length,
    errors,
    close() {
      for (const s of sockets) s.destroy();
    },
  };
}
