/**
 * A real Squid (Debian's squid, 5.x) as a reference on loopback, for differential tests. Root only: Squid drops to
 * the user `proxy`, so its directory is chowned to it. The caller gives the access-control part of a squid.conf (what
 * `cuttle import-squid` also reads); `startSquid` appends the runtime lines (listener, pid and log files in a fresh
 * directory, no caching, a loopback-only resolver) and waits until Squid accepts connections.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SquidProcess extends AsyncDisposable {
  /** Squid's listener: 127.0.0.1:port. */
  readonly port: number;
  /** Squid's working directory (config, logs, pid file). */
  readonly dir: string;
  readonly child: ChildProcess;
  /** Squid's access.log lines so far (native format). */
  accessLog(): string[];
  /** Everything Squid wrote to stderr (`-d1`) so far. */
  stderr(): string;
  close(): Promise<void>;
}

export interface StartSquidOptions {
  /**
   * The only resolver Squid may ask (`dns_nameservers`, port 53 implied), e.g. a `startDeadResolver()`. Default
   * 127.0.0.1, where nothing should listen: no query can leave loopback, but a name outside `hosts_file` then waits
   * for Squid's DNS timeout (30 s).
   */
  readonly nameserver?: string;
  readonly timeoutMs?: number;
  /** Squid's working directory (where it resolves relative paths, such as `"list.txt"`); default `dir`. */
  readonly cwd?: string;
  /** More runtime lines, appended after the listener (e.g. a `hosts_file` for the test's names). */
  readonly runtime?: readonly string[];
}

/** The directives `runtimeOnly` comments out: they bind ports or name the pid, log and core files. */
export const RUNTIME_DIRECTIVES: readonly string[] = [
  'http_port',
  'https_port',
  'pid_filename',
  'access_log',
  'cache_log',
  'cache_store_log',
  'coredump_dir',
  'dns_nameservers',
];

/**
 * A squid.conf as written, with the lines that would bind ports or write outside the test's directory commented
 * out (`RUNTIME_DIRECTIVES`; `startSquid` supplies its own). Returns the text and the rewritten lines' numbers.
 */
export function runtimeOnly(text: string): { text: string; rewritten: number[] } {
  const rewritten: number[] = [];
  const lines = text.split('\n').map((l, i) => {
    const name = /^\s*([a-z_]+)\s/.exec(l)?.[1];
    if (name === undefined || !RUNTIME_DIRECTIVES.includes(name)) return l;
    rewritten.push(i + 1);
    return `# (runtime, rewritten by the test) ${l}`;
  });
  return { text: lines.join('\n'), rewritten };
}

/** A loopback DNS server that refuses every query at once and records the names asked. */
export interface DeadResolver extends AsyncDisposable {
  readonly address: string;
  /** Query names received, lowercase, in arrival order. */
  readonly asked: string[];
  close(): Promise<void>;
}

/** Reads the first question name of a DNS message (null when malformed). */
function questionName(msg: Buffer): string | null {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i] as number;
    if (len === 0) return labels.join('.').toLowerCase();
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

/**
 * Binds UDP `address`:53 (root) and answers every query REFUSED: Squid's `dns_nameservers` takes no port, and with
 * nothing listening it waits for its DNS timeout instead of failing. Names outside `hosts_file` then fail at once.
 */
export async function startDeadResolver(address = '127.0.0.153'): Promise<DeadResolver> {
  const asked: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const name = questionName(msg);
    if (name !== null) asked.push(name);
    const reply = Buffer.from(msg);
    reply[2] = ((msg[2] as number) & 0x79) | 0x80; // QR=1, keep opcode and RD
    reply[3] = 0x05; // RCODE REFUSED
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => resolve());
  });
  const close = (): Promise<void> => new Promise((r) => socket.close(() => r()));
  return { address, asked, close, [Symbol.asyncDispose]: close };
}

/** A free loopback TCP port (bound and released; Squid cannot take port 0). */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Makes a fresh directory Squid (user proxy) can write into; `policy` files can be written there too. */
export function makeSquidDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-squid-'));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts `squid -N -d1` with `policy` (acl/http_access/hosts_file lines, no http_port) plus runtime lines, in `dir`
 * (default: a fresh one, removed on close).
 */
export async function startSquid(
  policy: string,
  options: StartSquidOptions & { dir?: string } = {},
): Promise<SquidProcess> {
  const dir = options.dir ?? makeSquidDir();
  const port = await freeLoopbackPort();
  const conf = join(dir, 'squid.conf');
  writeFileSync(
    conf,
    [
      policy.trimEnd(),
      '# runtime (test-support/squid.ts)',
      `http_port 127.0.0.1:${port}`,
      `pid_filename ${join(dir, 'squid.pid')}`,
      `access_log stdio:${join(dir, 'access.log')}`,
      `cache_log ${join(dir, 'cache.log')}`,
      `coredump_dir ${dir}`,
      `dns_nameservers ${options.nameserver ?? '127.0.0.1'}`,
      'visible_hostname squid.test',
      'cache_mem 8 MB',
      'pinger_enable off',
      'netdb_filename none',
      'icp_port 0',
      'htcp_port 0',
      'shutdown_lifetime 0 seconds',
      ...(options.runtime ?? []),
      '',
    ].join('\n'),
  );
  execFileSync('chown', ['-R', 'proxy:proxy', dir]);
  const child = spawn('squid', ['-f', conf, '-N', '-d1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: options.cwd ?? dir,
  });
  let err = '';
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`squid did not start in time; stderr:\n${err}`)),
      options.timeoutMs ?? 20_000,
    );
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Accepting HTTP Socket connections/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`squid exited (${code}) before accepting; stderr:\n${err}`));
    });
  });
  const close = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (e) {
    await close();
    throw e;
  }
  return {
    port,
    dir,
    child,
    accessLog: () => {
      try {
        return readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    stderr: () => err,
    close,
    [Symbol.asyncDispose]: close,
  };
}
