/**
 * A temporary container stand-in: a network namespace joined by a veth pair to a test bridge whose address is
 * fe80::1 (see recipes.md). Root only. Names are the caller's (prefix them with the test area). `remove` is
 * idempotent and never throws, so it is safe in afterAll.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface LinkLocalNetwork {
  readonly ns: string;
  readonly bridge: string;
  /**
   * Runs a command inside the namespace and resolves with its stdout (rejects on a non-zero exit). Asynchronous:
   * the origins a test talks to live in the test's own event loop.
   */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<string>;
  /** Deletes and recreates the bridge (new interface index), reattaching the veth. */
  recreateBridge(): void;
  remove(): void;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};
const quiet = (...args: string[]): void => {
  try {
    ip(...args);
  } catch {
    // already gone
  }
};

/** Waits until the link-local addresses of `dev` (in `ns` if given) are no longer tentative (DAD). */
function waitForAddress(dev: string, ns?: string, timeoutMs = 10_000): void {
  const end = Date.now() + timeoutMs;
  const argv = [...(ns === undefined ? [] : ['-n', ns]), '-6', 'addr', 'show', 'dev', dev];
  while (Date.now() < end) {
    const out = execFileSync('ip', argv, { encoding: 'utf8' });
    if (/fe80::/.test(out) && !/tentative/.test(out)) return;
    execFileSync('sleep', ['0.2']);
  }
  throw new Error(`link-local address on ${dev} stayed tentative`);
}

/** Creates namespace `ns` with eth0, veth `${ns}-h` on `bridge`, and fe80::1 on the bridge. */
export function createLinkLocalNetwork(ns: string, bridge: string): LinkLocalNetwork {
  const hostVeth = `${ns.slice(0, 10)}-h`;
  const up = (): void => {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('link', 'set', bridge, 'up');
    ip('-6', 'addr', 'add', 'fe80::1/64', 'dev', bridge);
  };
  const remove = (): void => {
    quiet('netns', 'del', ns);
    quiet('link', 'del', hostVeth);
    quiet('link', 'del', bridge);
  };
  remove();
  try {
    ip('netns', 'add', ns);
    up();
    ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('link', 'set', hostVeth, 'master', bridge, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
    waitForAddress(bridge);
    waitForAddress('eth0', ns);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    ns,
    bridge,
    exec(cmd, args, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        execFile(
          'ip',
          ['netns', 'exec', ns, cmd, ...args],
          { encoding: 'utf8', timeout: timeoutMs },
          (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout)),
        );
      });
    },
    recreateBridge() {
      ip('link', 'del', bridge);
      up();
      ip('link', 'set', hostVeth, 'master', bridge, 'up');
      waitForAddress(bridge);
    },
    remove,
  };
}
