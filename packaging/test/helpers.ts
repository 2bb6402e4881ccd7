/** Building the packages once per test file, and running commands inside a chroot. */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}packaging/dist/main.js`;

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end without blocking the event loop (builds run side by side). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `pnpm package KIND --out DIR [--version V]` (after `pnpm build`); resolves to the file built. */
export async function buildPackage(kind: 'deb' | 'npm', out: string, version?: string): Promise<string> {
  const r = await run(process.execPath, [
    MAIN,
    kind,
    '--out',
    out,
    ...(version ? ['--version', version] : []),
  ]);
  if (r.code !== 0) throw new Error(`package ${kind} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/** A clean environment for commands in the root: no LXD_DIR or CI variables from this process. */
export const ROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
};

/** Runs `args` inside `root` (chroot), synchronously. */
export function inRoot(root: string, args: string[], input?: string): Run {
  const r = spawnSync('chroot', [root, ...args], {
    encoding: 'utf8',
    env: ROOT_ENV,
    ...(input === undefined ? {} : { input }),
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
