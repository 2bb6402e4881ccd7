/** Raw-socket HTTP for tests: send exact bytes, read what comes back until the peer closes or goes quiet. */
import * as net from 'node:net';

/** A parsed response head (the first one in the bytes) plus everything received. */
export interface RawResponse {
  /** 0 when nothing (or no status line) came back. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Every byte received, latin1. */
  readonly raw: string;
  /** True when the proxy closed the connection (rather than the quiet timeout). */
  readonly closed: boolean;
}

/** Parses the first response in `raw` (head and the rest as body). */
export function parseRawResponse(raw: string, closed: boolean): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, headers, body: end === -1 ? '' : raw.slice(end + 4), raw, closed };
}

/**
 * Connects to `port` on `host`, writes `bytes`, and collects the answer until the server closes or nothing more
 * arrives for `quietMs` after the first bytes (keep-alive).
 */
export function sendRaw(
  port: number,
  bytes: string | Buffer,
  options: { host?: string; quietMs?: number } = {},
): Promise<RawResponse> {
  const quietMs = options.quietMs ?? 400;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port }, () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    });
    socket.on('close', () => finish(true));
    // A reset after connecting is an answer (the proxy dropped us); a refused connect is a test error.
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' ? reject(err) : finish(true),
    );
    // Safety net: never hang a test.
    setTimeout(() => finish(false), 10_000).unref();
  });
}

/** Sends an absolute-form GET (or `method`) through the proxy at `port` and returns the parsed answer. */
export function proxyGet(
  port: number,
  url: string,
  extra: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {},
): Promise<RawResponse> {
  const method = extra.method ?? 'GET';
  const u = url.match(/^http:\/\/([^/]*)/);
  let head = `${method} ${url} HTTP/1.1\r\nHost: ${u?.[1] ?? 'x'}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(extra.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (extra.body !== undefined) head += `Content-Length: ${Buffer.byteLength(extra.body)}\r\n`;
  return sendRaw(
    port,
    `${head}\r\n${extra.body ?? ''}`,
    extra.host === undefined ? {} : { host: extra.host },
  );
}
