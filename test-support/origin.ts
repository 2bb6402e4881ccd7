/**
 * Test origins on loopback. `startOrigin` records every request it answers; `startCanary` is a listener that must
 * never see a connection (another loopback address, another port, ::1); `startRawOrigin` answers every request
 * with fixed bytes (for malformed responses). All are disposable with `await using` and force-close on dispose.
 */
import * as http from 'node:http';
import * as net from 'node:net';

/** One request as the origin received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** Raw header list `[name, value, ...]` in arrival order. */
  readonly rawHeaders: readonly string[];
  /** Lowercase name to every value, in order. */
  readonly headers: Readonly<Record<string, string[]>>;
  readonly body: string;
  readonly remote: string;
}

export interface Origin extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export interface OriginOptions {
  /** Loopback address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Custom answer; the default is 200 text/plain `origin saw METHOD URL`. */
  readonly respond?: (req: RecordedRequest, res: http.ServerResponse) => void;
}

function listen(server: net.Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function headerMap(raw: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = (raw[i] as string).toLowerCase();
    const list = out[k] ?? [];
    list.push(raw[i + 1] as string);
    out[k] = list;
  }
  return out;
}

/** Starts a recording HTTP origin on loopback. */
export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  const host = options.host ?? '127.0.0.1';
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: headerMap(req.rawHeaders),
        body: Buffer.concat(chunks).toString('utf8'),
        remote: req.socket.remoteAddress ?? '',
      };
      requests.push(rec);
      if (options.respond) options.respond(rec, res);
      else {
        const body = `origin saw ${rec.method} ${rec.url}\n`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
        res.end(rec.method === 'HEAD' ? undefined : body);
      }
    });
  });
  server.on('connection', (s: net.Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server, host);
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    host,
    port,
    requests,
    get connections() {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A listener that must stay silent: it counts connections and bytes and answers nothing. */
export interface Canary extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts a canary on `host` (default 127.0.0.2) and a fresh port (or `port`). */
export async function startCanary(host = '127.0.0.2', port = 0): Promise<Canary> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const bound = await listen(server, host, port);
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    host,
    port: bound,
    get connections() {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Answers every request head with `response` (exact bytes), then closes. Records the request heads. */
export async function startRawOrigin(
  response: string | Buffer,
  host = '127.0.0.1',
): Promise<Canary & { heads: string[] }> {
  const sockets = new Set<net.Socket>();
  const heads: string[] = [];
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        heads.push(buf.slice(0, end));
        buf = '';
        s.end(response);
      }
    });
  });
  const port = await listen(server, host);
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    host,
    port,
    heads,
    get connections() {
      return connections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** An origin in its own process: answers `origin saw METHOD URL`. */
export interface OriginProcess extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const ORIGIN_PROCESS_SCRIPT = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = 'origin saw ' + req.method + ' ' + req.url + '\\n';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
s.listen(0, process.argv[1], () => console.log(s.address().port));
`;

/**
 * Starts an origin in a child process. For tests that run commands while the origin must answer: in some sandboxes
 * (gVisor) a process is suspended while a child it spawned runs, so an in-process origin would stall.
 */
export async function startOriginProcess(host = '127.0.0.1'): Promise<OriginProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', ORIGIN_PROCESS_SCRIPT, host], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`origin process exited (${code})`)));
  });
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  return { host, port, close, [Symbol.asyncDispose]: close };
}
