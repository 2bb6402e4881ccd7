/**
 * A small LXD REST client over the unix socket with node:http (the npm LXD clients are stale).
 *
 *   request(method, path, body)
 *     -> response {type: sync}  -> metadata
 *     -> response {type: async} -> GET /1.0/operations/ID/wait until done -> metadata of the operation
 *     -> response {type: error} -> LxdApiError with LXD's own message
 *
 * The body's `type` decides sync or async, never the method: LXD 6.6 and 6.8 made profile, network and pool
 * writes asynchronous. `update()` writes with If-Match and retries once on 412 (someone changed it in between).
 * Every exchange has a deadline (a daemon that accepts and never answers is `unreachable`, not a hang), and every
 * error has a kind (errors.ts: unreachable, refused, not_found, conflict, timeout).
 */
import { request as httpRequest } from 'node:http';
import { LxdApiError, LxdUnreachableError } from '../errors.js';
import { discoverSocket } from './socket-path.js';

/** What GET /1.0 tells about the daemon. */
export interface LxdServerInfo {
  readonly api_extensions: string[];
  readonly environment: {
    readonly server?: string;
    readonly server_version?: string;
    readonly kernel_version?: string;
  };
  readonly config: Record<string, unknown>;
}

/** The answer to one request: LXD's metadata and the ETag it sent (LXD 5.0.2 sends none for pools). */
export interface LxdResult<T> {
  readonly metadata: T;
  readonly etag: string | undefined;
}

interface LxdEnvelope {
  type?: 'sync' | 'async' | 'error';
  status_code?: number;
  error_code?: number;
  error?: string;
  operation?: string;
  metadata?: unknown;
}

interface LxdOperation {
  id: string;
  status_code: number;
  status: string;
  err: string;
  metadata: unknown;
}

export interface LxdClientOptions {
  /** Socket path; default: discovered from the environment (see socket-path.ts). */
  readonly socketPath?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait on one operation, seconds (default 120). */
  readonly operationTimeoutS?: number;
  /** How long one request may take from connecting to the last byte of the answer, ms (default 30000). */
  readonly requestTimeoutMs?: number;
}

/** A client bound to one LXD (or Incus) daemon. */
export class LxdClient {
  readonly socketPath: string;
  readonly #operationTimeoutS: number;
  readonly #requestTimeoutMs: number;
  #info: LxdServerInfo | undefined;

  constructor(options: LxdClientOptions = {}) {
    this.socketPath = options.socketPath ?? discoverSocket(options.env ?? process.env);
    this.#operationTimeoutS = options.operationTimeoutS ?? 120;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** GET /1.0, cached. */
  async server(): Promise<LxdServerInfo> {
    this.#info ??= (await this.request<LxdServerInfo>('GET', '/1.0')).metadata;
    return this.#info;
  }

  /** True when the daemon announces API extension `name`. */
  async hasExtension(name: string): Promise<boolean> {
    return (await this.server()).api_extensions.includes(name);
  }

  /** True on Incus (where some keys differ: `security.devlxd` is `security.guestapi`). */
  async isIncus(): Promise<boolean> {
    return (await this.server()).environment.server === 'incus';
  }

  /** GET `path`, or null on 404. */
  async getOrNull<T>(path: string): Promise<LxdResult<T> | null> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof LxdApiError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  /**
   * Reads `path`, lets `build` compute the full new body from the current state, and PUTs it with If-Match when LXD
   * sent an ETag. On 412 (changed in between) it reads and builds once more, then gives up.
   */
  async update<T>(path: string, build: (current: T) => unknown): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.request<T>('GET', path);
      try {
        await this.request('PUT', path, build(current.metadata), current.etag);
        return;
      } catch (err) {
        if (err instanceof LxdApiError && err.status === 412 && attempt === 0) continue;
        throw err;
      }
    }
  }

  /** One request; async answers are waited on. Throws LxdApiError or LxdUnreachableError. */
  async request<T>(method: string, path: string, body?: unknown, ifMatch?: string): Promise<LxdResult<T>> {
    const res = await this.#raw(method, path, body, ifMatch);
    const env = res.envelope;
    if (env.type === 'error' || res.status >= 400) {
      throw new LxdApiError(method, path, env.error_code ?? res.status, env.error || `HTTP ${res.status}`);
    }
    if (env.type === 'async') {
      const id = (env.metadata as LxdOperation | undefined)?.id ?? env.operation?.split('/').pop();
      if (id === undefined)
        throw new LxdApiError(method, path, res.status, 'async answer without an operation');
      const op = await this.waitOperation(id);
      return { metadata: op.metadata as T, etag: res.etag };
    }
    return { metadata: env.metadata as T, etag: res.etag };
  }

  /** Waits for operation `id`; a failed operation becomes an LxdApiError with its `err` text. */
  async waitOperation(id: string): Promise<LxdOperation> {
    const path = `/1.0/operations/${encodeURIComponent(id)}/wait?timeout=${this.#operationTimeoutS}`;
    // LXD ends the wait itself after the timeout; the exchange gets that long plus the usual deadline.
    const res = await this.#raw('GET', path, undefined, undefined, false, this.#operationTimeoutS * 1000);
    const op = res.envelope.metadata as LxdOperation | undefined;
    if (res.envelope.type === 'error' || op === undefined)
      throw new LxdApiError('GET', path, res.status, res.envelope.error || 'no operation in the answer');
    if (op.status_code >= 400 || op.err)
      throw new LxdApiError('GET', path, op.status_code, op.err || op.status, { kind: 'refused' });
    if (op.status_code !== 200)
      throw new LxdApiError(
        'GET',
        path,
        op.status_code,
        `operation still ${op.status} after ${this.#operationTimeoutS} s`,
        { kind: 'timeout' },
      );
    return op;
  }

  /** GET `path` as text (exec output logs are not JSON). */
  async getText(path: string): Promise<string> {
    const res = await this.#raw('GET', path, undefined, undefined, true);
    if (res.status >= 400)
      throw new LxdApiError('GET', path, res.status, res.envelope.error || `HTTP ${res.status}`);
    return res.text;
  }

  #raw(
    method: string,
    path: string,
    body?: unknown,
    ifMatch?: string,
    asText = false,
    extraMs = 0,
  ): Promise<{ status: number; etag: string | undefined; envelope: LxdEnvelope; text: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    return new Promise((resolve, reject) => {
      const fail = (cause: NodeJS.ErrnoException): void => {
        const what = cause.code === 'ETIMEDOUT' ? cause.message : (cause.code ?? cause.message);
        reject(
          new LxdUnreachableError(
            `cannot talk to LXD at ${this.socketPath}: ${what}` +
              (cause.code === 'EACCES' ? ' (run as root or a member of the lxd group)' : ''),
            { cause, kind: cause.code === 'EACCES' ? 'refused' : 'unreachable' },
          ),
        );
      };
      const req = httpRequest(
        { socketPath: this.socketPath, method, path, headers: { host: 'lxd', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const etag = res.headers.etag;
            const base = {
              status: res.statusCode ?? 0,
              etag: typeof etag === 'string' ? etag : undefined,
              text,
            };
            let envelope: LxdEnvelope;
            if (asText && (res.statusCode ?? 0) < 400) {
              resolve({ ...base, envelope: {} });
              return;
            }
            try {
              envelope = text === '' ? {} : (JSON.parse(text) as LxdEnvelope);
            } catch (cause) {
              reject(
                new LxdApiError(method, path, res.statusCode ?? 0, `not JSON: ${text.slice(0, 200)}`, {
                  cause,
                }),
              );
              return;
            }
            resolve({ ...base, envelope });
          });
        },
      );
      const deadline = this.#requestTimeoutMs + extraMs;
      req.setTimeout(deadline, () => {
        req.destroy(Object.assign(new Error(`no answer within ${deadline / 1000} s`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', fail);
      req.end(payload);
    });
  }
}
