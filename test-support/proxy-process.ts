/**
 * A real cuttle daemon for tests: writes a temporary config, spawns the compiled CLI (`pnpm build` first) with the
 * current node, waits for its "listening on" line(s) on stderr and kills it on dispose. DNS stays on loopback: unless
 * the test says otherwise the resolver is a closed loopback port, so only `dns.hosts` names resolve.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI entry. */
export const CUTTLE_MAIN = fileURLToPath(new URL('../packages/proxy/dist/cli/main.js', import.meta.url));

export interface ProxyProcess extends AsyncDisposable {
  /** Port of the first listener. */
  readonly port: number;
  /** Every `listening on` endpoint seen so far (`127.0.0.1:4711`, `[fe80::1%br0]:4711`). */
  readonly endpoints: string[];
  readonly child: ChildProcess;
  readonly configFile: string;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far (should stay empty unless `log.file` is stdout). */
  stdout(): string;
  /** Parsed access-log lines so far (JSON format). */
  accessLog(): Record<string, unknown>[];
  /**
   * The first access-log line matching `match`, waited for: the daemon writes its log asynchronously, so a line is
   * not there yet when the client has its answer. Rejects after `timeoutMs` (default 5 s) listing the lines seen.
   */
  waitForRecord(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Waits until stderr matches `re` (or throws after `timeoutMs`). */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Resolves with the exit code once the process exits, sending nothing: after a signal already sent, use this,
   * not `stop()`, whose second signal may land in Node's own teardown (after the last handle closed), where no
   * handler runs any more and the signal kills the process (exit code null).
   */
  exited(): Promise<number | null>;
  close(): Promise<void>;
}

export interface StartProxyOptions {
  /** Wait for this many "listening on" lines before resolving (default 1; 0 to not wait). */
  readonly listeners?: number;
  readonly timeoutMs?: number;
  /** Node binary (default: the current one). */
  readonly node?: string;
  /** A command that runs node, such as `['prlimit', '--nofile=256']` (default: none). */
  readonly wrapper?: readonly string[];
  /** Options for node before the CLI, such as the unit's `PROXY_NODE_FLAGS` (default: none). */
  readonly nodeFlags?: readonly string[];
}

/** The log's snake_case keys (`bytes_up`) as AccessRecord's camelCase (`bytesUp`), so tests compare records. */
function camelKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

const LISTEN_RE = /listening on (\S+)/g;

/**
 * Starts the daemon with `config` merged over test defaults (listen 127.0.0.1:0, loopback clients, metrics off,
 * access log in a temp file, resolver on a closed loopback port).
 */
export async function startProxy(
  config: Record<string, unknown>,
  options: StartProxyOptions = {},
): Promise<ProxyProcess> {
  if (!existsSync(CUTTLE_MAIN)) throw new Error(`${CUTTLE_MAIN} missing: run \`pnpm build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-proxy-'));
  const accessFile = join(dir, 'access.log');
  const dns = (config.dns ?? {}) as Record<string, unknown>;
  const full = {
    listen: ['127.0.0.1:0'],
    clients: ['127.0.0.0/8', '::1/128'],
    metrics: { listen: null },
    log: { file: accessFile, format: 'json' },
    ...config,
    dns: { servers: ['127.0.0.1:1'], ...dns },
  };
  const configFile = join(dir, 'cuttle.yaml');
  // JSON is YAML: one writer, no dependency.
  writeFileSync(configFile, `${JSON.stringify(full, null, 2)}\n`);
  const args = [...(options.nodeFlags ?? []), CUTTLE_MAIN, 'run', '--config', configFile];
  const node = options.node ?? process.execPath;
  const [command, ...wrapped] = [...(options.wrapper ?? []), node, ...args] as [string, ...string[]];
  const child = spawn(command, wrapped, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let err = '';
  let out = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  const waitForStderr = (re: RegExp, timeoutMs = options.timeoutMs ?? 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = err.match(re);
        if (m) {
          cleanup();
          resolve(m);
        } else if (exited !== undefined) {
          cleanup();
          reject(new Error(`cuttle exited (${exited}) before ${re}; stderr:\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${re}; stderr:\n${err}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const endpoints = (): string[] => [...err.matchAll(LISTEN_RE)].map((m) => m[1] as string);
  const wanted = options.listeners ?? 1;
  if (wanted > 0) {
    const re = new RegExp(`(?:listening on \\S+[\\s\\S]*){${wanted}}`);
    try {
      await waitForStderr(re);
    } catch (e) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const first = endpoints()[0];
  const port = first === undefined ? 0 : Number(first.slice(first.lastIndexOf(':') + 1));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (exited === undefined) child.kill(signal);
    return exit;
  };
  const close = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const accessLog = (): Record<string, unknown>[] => {
    if (!existsSync(accessFile)) return [];
    return readFileSync(accessFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => camelKeys(JSON.parse(l) as Record<string, unknown>));
  };
  return {
    port,
    get endpoints() {
      return endpoints();
    },
    child,
    configFile,
    stderr: () => err,
    stdout: () => out,
    accessLog,
    async waitForRecord(match, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = accessLog().find(match);
        if (line !== undefined) return line;
        if (Date.now() > deadline)
          throw new Error(
            `no matching access-log line within ${timeoutMs} ms; lines: ${JSON.stringify(accessLog())}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    waitForStderr,
    stop,
    exited: () => exit,
    close,
    [Symbol.asyncDispose]: close,
  };
}
