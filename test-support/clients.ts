/**
 * Real HTTP clients for conformance tests: a static file origin (HTTP and HTTPS, in its own process) that can serve
 * a dumb-HTTP git repository, and the command lines of the clients a container runs (curl, GNU wget, busybox wget,
 * python3 urllib, node fetch, git, apt-helper), each told about a proxy and a test CA the way that client reads them.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface FileOrigins extends AsyncDisposable {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** `http GET /path` / `https GET /path` lines, in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

// Serves files under ROOT over HTTP and HTTPS on HOST; prints the ports as JSON, then one line per request.
const FILE_ORIGIN_SCRIPT = `
const fs = require('node:fs'), http = require('node:http'), https = require('node:https'), path = require('node:path');
const [root, host, keyFile, certFile] = process.argv.slice(1);
const handler = (proto) => (req, res) => {
  process.stdout.write(proto + ' ' + req.method + ' ' + req.url + '\\n');
  req.resume();
  const rel = decodeURIComponent(req.url.split('?')[0]);
  const file = path.join(root, path.normalize(rel));
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { 'Content-Length': 0 });
    return res.end();
  }
  const body = fs.readFileSync(file);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
};
const a = http.createServer(handler('http'));
const b = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, handler('https'));
a.listen(0, host, () => b.listen(0, host, () =>
  process.stdout.write(JSON.stringify({ http: a.address().port, https: b.address().port }) + '\\n')));
`;

/**
 * Starts the file origins in a child process (in some sandboxes a process is suspended while a child it spawned
 * runs, so the origin must not live in the test's own event loop while client commands run).
 */
export async function startFileOrigins(options: {
  root: string;
  keyFile: string;
  certFile: string;
  host?: string;
}): Promise<FileOrigins> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', FILE_ORIGIN_SCRIPT, options.root, options.host ?? '127.0.0.1', options.keyFile, options.certFile],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const requests: string[] = [];
  let buf = '';
  const ports = await new Promise<{ http: number; https: number }>((resolve, reject) => {
    let first = true;
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (first) {
          first = false;
          resolve(JSON.parse(line) as { http: number; https: number });
        } else requests.push(line);
        nl = buf.indexOf('\n');
      }
    });
    child.once('exit', (code) => reject(new Error(`file origin exited (${code})`)));
  });
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  return { httpPort: ports.http, httpsPort: ports.https, requests, close, [Symbol.asyncDispose]: close };
}

/**
 * Writes `root/repo.git`, a bare repository with one commit on `main`, prepared for dumb HTTP
 * (`git update-server-info`). Returns the commit id.
 */
export function makeDumbGitRepo(root: string): string {
  const work = join(root, 'work');
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'cuttle test',
        GIT_AUTHOR_EMAIL: 'test@example.test',
        GIT_COMMITTER_NAME: 'cuttle test',
        GIT_COMMITTER_EMAIL: 'test@example.test',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: root,
      },
    }).trim();
  mkdirSync(work, { recursive: true });
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'README'), 'a repository served over dumb HTTP\n');
  git(work, 'add', 'README');
  git(work, 'commit', '-q', '-m', 'first');
  git(root, 'clone', '-q', '--bare', work, 'repo.git');
  git(join(root, 'repo.git'), 'update-server-info');
  return git(work, 'rev-parse', 'HEAD');
}

/** What a client run needs: the proxy URL for http_proxy/https_proxy, the test CA file, a writable directory. */
export interface ClientContext {
  readonly proxy: string;
  readonly caFile: string;
  readonly workDir: string;
}

/** One client invocation: argv (run inside the namespace) and extra environment. */
export interface ClientCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Where the body lands when the client writes a file rather than stdout. */
  readonly outFile?: string;
}

/** A client under test: `command` builds its invocation for `url` (which the test expects in the output). */
export interface ClientSpec {
  readonly name: string;
  /** Commands it needs on PATH (or absolute paths). */
  readonly needs: readonly string[];
  command(url: string, ctx: ClientContext): ClientCommand;
}

const proxyEnv = (proxy: string): Record<string, string> => ({
  http_proxy: proxy,
  https_proxy: proxy,
  HTTP_PROXY: proxy,
  HTTPS_PROXY: proxy,
  no_proxy: '',
  NO_PROXY: '',
});

/** Where scripts/node24.sh keeps the pinned Node 24 (packaging/node-runtime.json) once it has fetched it. */
function cachedNode24(): string {
  const pin = JSON.parse(
    readFileSync(new URL('../packaging/node-runtime.json', import.meta.url), 'utf8'),
  ) as { package: string; version: string };
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const dir = process.env.CUTTLE_NODE24_DIR ?? join(cache, 'cuttle', `${pin.package}-${pin.version}`);
  return join(dir, 'package', 'bin', 'node');
}

/** A Node 24 binary: `CUTTLE_NODE24` (scripts/test-all.sh sets it), else scripts/node24.sh's cached copy. */
export const NODE24 = process.env.CUTTLE_NODE24 || cachedNode24();

/** undici (a dev dependency) with EnvHttpProxyAgent: its entry file, or null when it cannot be resolved. */
export function findUndici(): string | null {
  try {
    return createRequire(import.meta.url).resolve('undici');
  } catch {
    return null;
  }
}

const FETCH_SCRIPT =
  'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(String(e.cause ?? e)); process.exit(1); })';

const UNDICI_SCRIPT =
  'const u = require(process.env.UNDICI_PATH); u.setGlobalDispatcher(new u.EnvHttpProxyAgent()); u.fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(String(e.cause ?? e)); process.exit(1); })';

const PY_SCRIPT =
  'import sys, urllib.request\nsys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=8).read().decode())';

/** The clients a container typically runs, each reading http_proxy/https_proxy and the CA its own way. */
export const CLIENTS: readonly ClientSpec[] = [
  {
    name: 'curl',
    needs: ['curl'],
    command: (url, { proxy, caFile }) => ({
      argv: ['curl', '-sS', '-f', '-m', '8', '--cacert', caFile, url],
      env: proxyEnv(proxy),
    }),
  },
  {
    name: 'GNU wget',
    needs: ['wget'],
    command: (url, { proxy, caFile }) => ({
      argv: ['wget', '-nv', '-O', '-', '-T', '8', '-t', '1', `--ca-certificate=${caFile}`, url],
      env: proxyEnv(proxy),
    }),
  },
  {
    // busybox's TLS does not verify certificates at all: nothing to pass. No `-T`: busybox-static 1.35 (Debian 12)
    // segfaults on `wget -T N` here.
    name: 'busybox wget',
    needs: ['busybox'],
    command: (url, { proxy }) => ({
      argv: ['busybox', 'wget', '-O', '-', url],
      env: proxyEnv(proxy),
    }),
  },
  {
    name: 'python3 urllib',
    needs: ['/usr/bin/python3'],
    command: (url, { proxy, caFile }) => ({
      argv: ['/usr/bin/python3', '-c', PY_SCRIPT, url],
      env: { ...proxyEnv(proxy), SSL_CERT_FILE: caFile },
    }),
  },
  {
    name: 'node 24 fetch (NODE_USE_ENV_PROXY=1)',
    needs: [NODE24],
    command: (url, { proxy, caFile }) => ({
      argv: [NODE24, '-e', FETCH_SCRIPT, url],
      env: { ...proxyEnv(proxy), NODE_USE_ENV_PROXY: '1', NODE_EXTRA_CA_CERTS: caFile },
    }),
  },
  {
    // Node 20's fetch ignores http_proxy; undici's EnvHttpProxyAgent (a dev dependency) reads it.
    name: 'node 20 undici EnvHttpProxyAgent',
    needs: findUndici() === null ? ['undici'] : [process.execPath],
    command: (url, { proxy, caFile }) => ({
      argv: [process.execPath, '-e', UNDICI_SCRIPT, url],
      env: { ...proxyEnv(proxy), NODE_EXTRA_CA_CERTS: caFile, UNDICI_PATH: findUndici() ?? 'undici' },
    }),
  },
  {
    // `url` is the repository; ls-remote prints the refs (the commit id is what the test looks for).
    name: 'git ls-remote',
    needs: ['git'],
    command: (url, { proxy, caFile, workDir }) => ({
      argv: ['git', 'ls-remote', url],
      env: {
        ...proxyEnv(proxy),
        GIT_SSL_CAINFO: caFile,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_HTTP_LOW_SPEED_TIME: '8',
        HOME: workDir,
      },
    }),
  },
  {
    // apt reads the proxy from its configuration (what provisioning writes), not only from the environment.
    name: 'apt-helper download-file',
    needs: ['/usr/lib/apt/apt-helper'],
    command: (url, { proxy, caFile, workDir }) => {
      const outFile = join(workDir, `apt-${Math.random().toString(36).slice(2)}`);
      return {
        argv: [
          '/usr/lib/apt/apt-helper',
          '-o',
          `Acquire::http::Proxy=${proxy}`,
          '-o',
          `Acquire::https::Proxy=${proxy}`,
          '-o',
          `Acquire::https::CaInfo=${caFile}`,
          '-o',
          'Acquire::http::Timeout=8',
          '-o',
          'Acquire::https::Timeout=8',
          'download-file',
          url,
          outFile,
        ],
        env: {},
        outFile,
      };
    },
  },
];

/** A TCP forwarder running inside a network namespace. */
export interface Forwarder extends AsyncDisposable {
  close(): Promise<void>;
}

/**
 * Starts `socat` in namespace `ns`: 127.0.0.1:`port` there is forwarded to `target` (socat syntax, e.g.
 * `TCP6:[fe80::1%eth0]:3128`). Resolves once it listens. The workaround for clients that cannot parse a zoned URL.
 */
export async function startForwarder(ns: string, port: number, target: string): Promise<Forwarder> {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'socat', `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, target],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  const end = Date.now() + 10_000;
  for (;;) {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], {
      encoding: 'utf8',
    });
    if (out.trim() !== '') break;
    if (Date.now() > end || child.exitCode !== null) {
      await close();
      throw new Error(`socat did not listen on 127.0.0.1:${port} in ${ns}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { close, [Symbol.asyncDispose]: close };
}
