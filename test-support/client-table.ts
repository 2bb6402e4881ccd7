/**
 * One runner for the real-client tables (conformance-clients, socket-clients): a temp dir with a test CA, a leaf
 * for origin.test, a dumb git repository and a file; an HTTP and an HTTPS file origin on loopback; every client
 * of CLIENTS that is installed (with CI=true a missing one is a failure); and one run of one client through one
 * proxy URL, `ok` only when the body came back and the origin saw the request.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENTS, type ClientSpec, type FileOrigins, makeDumbGitRepo, startFileOrigins } from './clients.js';
import { IN_CI, missingNeeds } from './needs.js';
import { createTestPki, type TestPki } from './tls.js';

export type Scheme = 'http' | 'https';
/** `ok`: the body arrived (and the origin saw the request); `fail`: anything else. */
export type Outcome = 'ok' | 'fail';
export const SCHEMES: readonly Scheme[] = ['http', 'https'];

export interface ClientWorld {
  readonly dir: string;
  readonly caFile: string;
  /** The git repository's commit (what `git ls-remote` prints). */
  readonly commit: string;
  readonly origins: FileOrigins;
  close(): Promise<void>;
}

/** The origins and files every client table uses. */
export async function startClientWorld(prefix: string): Promise<ClientWorld> {
  const pki: TestPki = createTestPki();
  // Readable by apt's unprivileged _apt user, which also writes its download here.
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, pki.ca, { mode: 0o644 });
  const leaf = pki.issue(['origin.test']);
  writeFileSync(join(dir, 'leaf.key'), leaf.key);
  writeFileSync(join(dir, 'leaf.crt'), leaf.cert);
  const root = join(dir, 'www');
  const commit = makeDumbGitRepo(root);
  writeFileSync(join(root, 'hello.txt'), 'hello through cuttle\n');
  const origins = await startFileOrigins({
    root,
    keyFile: join(dir, 'leaf.key'),
    certFile: join(dir, 'leaf.crt'),
  });
  return {
    dir,
    caFile,
    commit,
    origins,
    close: async () => {
      await origins.close();
      pki.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when the client's commands are installed. */
export function clientAvailable(c: ClientSpec): boolean {
  return missingNeeds({ commands: [...c.needs] }) === null;
}

/** The installed clients; a missing one is skipped with a message, or fails with CI=true. */
export function installedClients(): ClientSpec[] {
  return CLIENTS.filter((c) => {
    if (clientAvailable(c)) return true;
    const why = `${c.name}: ${missingNeeds({ commands: [...c.needs] })}`;
    if (IN_CI) throw new Error(`CI=true and a client is missing: ${why}`);
    console.warn(`skipped client ${why}`);
    return false;
  });
}

/** Runs argv with exactly `env` where the client lives; resolves with stdout, rejects with `stderr` attached. */
export type ClientExec = (env: string[], argv: readonly string[], timeoutMs: number) => Promise<string>;

/** Runs `client` once for `scheme` through `proxy`; `id` tags the request so the origin's log can be checked. */
export async function runClient(
  world: ClientWorld,
  client: ClientSpec,
  scheme: Scheme,
  id: string,
  proxy: string,
  exec: ClientExec,
): Promise<{ outcome: Outcome; detail: string }> {
  const { origins } = world;
  const port = scheme === 'http' ? origins.httpPort : origins.httpsPort;
  const isGit = client.name.startsWith('git');
  const url = isGit
    ? `${scheme}://origin.test:${port}/repo.git`
    : `${scheme}://origin.test:${port}/hello.txt?${id}`;
  const expected = isGit ? world.commit : 'hello through cuttle';
  const cmd = client.command(url, { proxy, caFile: world.caFile, workDir: world.dir });
  const env = Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: world.dir, ...cmd.env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  let out = '';
  let detail = '';
  try {
    out = await exec(env, cmd.argv, 30_000);
    if (cmd.outFile !== undefined && existsSync(cmd.outFile)) out += readFileSync(cmd.outFile, 'utf8');
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const lines = (e.stderr || e.message).split('\n').filter((l) => l.trim() !== '');
    detail = (
      lines.find((l) => /error|fail|invalid|bad|unable|refused|cancel/i.test(l)) ??
      lines.at(-1) ??
      ''
    ).trim();
  }
  const seen = isGit
    ? origins.requests.some((r) => r.startsWith(`${scheme} GET /repo.git/info/refs`))
    : origins.requests.includes(`${scheme} GET /hello.txt?${id}`);
  return { outcome: out.includes(expected) && seen ? 'ok' : 'fail', detail };
}
