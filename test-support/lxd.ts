/**
 * The private LXD daemon for tests, started by `scripts/lxd-daemon.sh start` (CI: scripts/test-all.sh) with its own
 * state directory. Found through `$LXD_SOCKET` or `$LXD_DIR` (default /tmp/cuttle-lxd, the script's default). Tests
 * use test-only names (pool `cpv-pool`, bridge `cpvbr0`, containers `cpv-*`) and the local busybox image.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IN_CI, missingNeeds } from './needs.js';

/** The busybox-static image alias the script imports. */
export const LXD_TEST_IMAGE = 'cuttle-bbox';

/** The daemon's state directory (the script's default when unset). */
export const LXD_TEST_DIR = process.env.LXD_DIR ?? '/tmp/cuttle-lxd';

/** The daemon's unix socket. */
export const LXD_TEST_SOCKET = process.env.LXD_SOCKET ?? join(LXD_TEST_DIR, 'unix.socket');

/**
 * Three hex digits derived from the daemon's directory: test names carry it, so two runs against two private
 * daemons on one host (a developer's and CI's) do not fight over host-wide names (interfaces, nft tables, ports).
 */
export const LXD_TEST_TAG = createHash('sha256').update(LXD_TEST_DIR).digest('hex').slice(0, 3);

/** A port number in 20000..29999 derived from the tag, plus `offset`. */
export function lxdTestPort(offset: number): number {
  return 20_000 + ((Number.parseInt(LXD_TEST_TAG, 16) * 10 + offset) % 10_000);
}

/** Environment for `lxc` pointing at the private daemon. */
export function lxdEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LXD_DIR: LXD_TEST_DIR };
}

/** Why the private daemon cannot be used, or null. */
export function missingLxd(): string | null {
  const base = missingNeeds({ root: true, commands: ['lxc', 'lxd', 'nft'] });
  if (base !== null) return base;
  if (!existsSync(LXD_TEST_SOCKET))
    return `no private LXD daemon at ${LXD_TEST_SOCKET} (start one: LXD_DIR=${LXD_TEST_DIR} bash scripts/lxd-daemon.sh start)`;
  try {
    execFileSync('lxc', ['image', 'info', LXD_TEST_IMAGE], {
      env: lxdEnv(),
      stdio: 'ignore',
      timeout: 20_000,
    });
  } catch {
    return `the daemon at ${LXD_TEST_SOCKET} does not answer or lacks the image ${LXD_TEST_IMAGE} (scripts/lxd-daemon.sh start imports it)`;
  }
  return null;
}

/** `describe.skipIf(skipUnlessLxd())`: skips with a message outside CI, throws with CI=true. */
export function skipUnlessLxd(): boolean {
  const why = missingLxd();
  if (why === null) return false;
  if (IN_CI) throw new Error(`CI=true and a test cannot run: ${why}`);
  console.warn(`skipped: ${why}`);
  return true;
}

/** Runs `lxc ARGS` against the private daemon; never throws, resolves with the outcome. */
export function lxc(
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'lxc',
      args,
      { env: lxdEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        const killed = err?.killed === true ? ` (killed after ${timeoutMs} ms)` : '';
        resolve({ code, stdout, stderr: `${stderr}${killed}` });
      },
    );
    // `lxc launch` reads instance config from a stdin that is not a terminal: give it EOF.
    child.stdin?.end();
  });
}

/** Runs `lxc ARGS` and throws with its stderr when it fails. */
export async function lxcOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await lxc(args, timeoutMs);
  if (r.code !== 0) throw new Error(`lxc ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Launches an unprivileged container from the busybox image with `profiles` and waits until it runs and, unless
 * `nic` is null, until that interface's link-local address has left duplicate address detection (before that,
 * connecting from it fails with "can't connect").
 */
export async function launchContainer(
  name: string,
  profiles: string[],
  nic: string | null = 'eth0',
): Promise<void> {
  try {
    await lxcOk(['launch', LXD_TEST_IMAGE, name, ...profiles.flatMap((p) => ['-p', p])]);
  } catch (err) {
    // Created, but the start raced another operation on it (an identity watcher adding a device): start again.
    if (!/is busy running/.test(String(err))) throw err;
    for (let i = 0; ; i++) {
      const r = await lxc(['start', name]);
      if (r.code === 0 || /already running/.test(r.stderr)) break;
      if (i >= 50 || !/is busy running/.test(r.stderr)) throw new Error(`lxc start ${name}: ${r.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  for (let i = 0; i < 100; i++) {
    const r = await lxc(
      nic === null
        ? ['exec', name, '--', 'true']
        : ['exec', name, '--', 'ip', '-6', 'addr', 'show', 'dev', nic],
    );
    if (r.code === 0 && (nic === null || (/inet6 fe80::/.test(r.stdout) && !/tentative/.test(r.stdout))))
      return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`container ${name} did not start${nic === null ? '' : ` with a usable ${nic}`}`);
}

/** Deletes a container if it exists (for afterAll). */
export async function deleteContainer(name: string): Promise<void> {
  await lxc(['delete', '--force', name]);
}

/** Runs a command inside a container (busybox applets). */
export function execIn(name: string, cmd: string[], timeoutMs?: number) {
  // LXD 5.0's non-interactive exec can report the exit before it has relayed the last output of a command that
  // ends at once (seen under load: busybox wget exits 1 with its "Connection refused" line lost). A short pause
  // before the exit, keeping the command's own code, lets the output arrive first.
  return lxc(['exec', name, '--', 'sh', '-c', '"$@"; rc=$?; sleep 0.1; exit $rc', 'sh', ...cmd], timeoutMs);
}
