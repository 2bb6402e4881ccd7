/**
 * Socket mode end to end against the private LXD daemon (issue 8, Done when): a container with no NIC at all (its
 * profile holds only a root disk) gets an LXD proxy device `listen=tcp:127.0.0.1:3128 connect=unix:SOCK
 * bind=container`; inside it busybox wget with `http_proxy=http://127.0.0.1:3128` fetches an allowed loopback
 * origin through cuttle's unix socket and gets 403 for a denied name. The origin and the proxy run in their own
 * processes (see startOriginProcess). Names are test-only (`csk-TAG-*`) and removed in afterAll. No `wget -T`:
 * busybox 1.35's wget exits 139 (SIGSEGV) with `-T` and `http_proxy` set.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deleteContainer,
  execIn,
  LXD_TEST_IMAGE,
  LXD_TEST_TAG,
  lxc,
  lxcOk,
  lxdEnv,
  type OriginProcess,
  type ProxyProcess,
  skipUnlessLxd,
  startOriginProcess,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const POOL = `csk-${LXD_TEST_TAG}-pool`;
const PROFILE = `csk-${LXD_TEST_TAG}-nonic`;
const CONTAINER = `csk-${LXD_TEST_TAG}-c1`;
/** What the device listens on inside the container: the proxy URL every socket-mode container gets. */
const IN_CONTAINER = '127.0.0.1:3128';

/**
 * `lxc launch` with stdin closed: given a stdin that is not a terminal, `lxc launch`/`init` read instance config
 * YAML from it until EOF, so through execFile's open stdin pipe (test-support's lxc()) it never returns.
 */
function launchNoNic(name: string, profile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('lxc', ['launch', LXD_TEST_IMAGE, name, '-p', profile], {
      env: lxdEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`lxc launch ${name} failed (${code}): ${err.trim()}`)),
    );
  });
}

/** Waits until `lxc exec NAME -- true` works (init has run). */
async function waitRunning(name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await execIn(name, ['true'])).code === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`container ${name} did not start`);
}

describe.skipIf(skipUnlessLxd())('a container with no NIC reaches cuttle through an LXD proxy device', () => {
  let dir: string;
  let sock: string;
  let origin: OriginProcess;
  let proxy: ProxyProcess;

  const wget = (url: string) =>
    execIn(CONTAINER, ['env', `http_proxy=http://${IN_CONTAINER}`, 'wget', '-q', '-O-', url], 60_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'csk-lxd-'));
    sock = join(dir, 'ctr.sock');
    origin = await startOriginProcess();
    proxy = await startProxy({
      listen: [`unix:${sock}`],
      ports: [origin.port],
      allow: ['allowed.test'],
      dns: { hosts: { 'allowed.test': ['127.0.0.1'], 'denied.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    await lxcOk(['storage', 'create', POOL, 'dir']);
    await lxcOk(['profile', 'create', PROFILE]);
    await lxcOk(['profile', 'device', 'add', PROFILE, 'root', 'disk', 'path=/', `pool=${POOL}`]);
    await launchNoNic(CONTAINER, PROFILE);
    await waitRunning(CONTAINER);
    await lxcOk([
      'config',
      'device',
      'add',
      CONTAINER,
      'cuttle',
      'proxy',
      `listen=tcp:${IN_CONTAINER}`,
      `connect=unix:${sock}`,
      'bind=container',
    ]);
  }, 240_000);

  afterAll(async () => {
    await deleteContainer(CONTAINER);
    await lxc(['profile', 'delete', PROFILE]);
    await lxc(['storage', 'delete', POOL]);
    await proxy?.close();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('has only the loopback interface', async () => {
    const r = await execIn(CONTAINER, ['ip', '-o', 'link']);
    expect(r.code).toBe(0);
    const names = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(':')[1]?.trim());
    expect(names).toEqual(['lo']);
  });

  it('cannot reach the host origin without the proxy', async () => {
    // The container's 127.0.0.1 is its own: nothing listens on the origin's port there.
    const r = await execIn(CONTAINER, ['wget', '-q', '-O-', `http://127.0.0.1:${origin.port}/direct`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused/i);
  });

  it('fetches an allowed origin through the device and the socket, logged as unix:NAME', async () => {
    const r = await wget(`http://allowed.test:${origin.port}/from-container`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('origin saw GET /from-container\n');
    const line = await proxy.waitForRecord((l) => l.path === '/from-container');
    expect(line).toMatchObject({
      client: 'unix:ctr',
      container: 'ctr',
      verdict: 'allow',
      host: 'allowed.test',
      status: 200,
    });
  });

  it('gets 403 for a denied name', async () => {
    const r = await wget(`http://denied.test:${origin.port}/nope`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('403');
    const line = await proxy.waitForRecord((l) => l.host === 'denied.test');
    expect(line).toMatchObject({
      client: 'unix:ctr',
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
    });
  });
});
