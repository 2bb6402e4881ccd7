/**
 * `listen: ["unix:/DIR/NAME.sock"]` against a real daemon: plain HTTP and CONNECT through the socket to loopback
 * origins, 403 for a denied name, the socket's name as the client in the access log, `clients` not applied to
 * unix peers, mode/owner/group applied, a stale socket replaced, a live one or a non-socket file refused with
 * exit 3, the socket added and removed by a reload and removed on drain.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Origin, type ProxyProcess, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange, httpGet, metricsPortOf, patchConfig, sample, startEcho } from './ops-support.js';

/** A GET in absolute-form sent over the unix socket. */
function unixGet(socketPath: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { socketPath, path: url, headers: { Host: new URL(url).host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

/** A CONNECT over the unix socket with a raw socket; resolves once the status line and head arrived. */
function unixConnect(socketPath: string, target: string): Promise<{ socket: net.Socket; status: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath }, () =>
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`),
    );
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve({ socket, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Waits until `pred` holds (polling), or fails with `what`. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** uid or gid of `name` in an /etc/passwd-style file. */
function idOf(file: string, name: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return Number(line?.split(':')[2]);
}

const isRoot = process.getuid?.() === 0;

describe('a unix socket listener', () => {
  let dir: string;
  let sock: string;
  let other: string;
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'csk-listen-'));
    sock = join(dir, 'blog.sock');
    other = join(dir, 'other.sock');
    origin = await startOrigin();
    echo = await startEcho();
    proxy = await startProxy(
      {
        listen: ['127.0.0.1:0', `unix:${sock}`, `unix:${other}`],
        // No loopback client: the TCP listener refuses everyone, the unix socket does not ask.
        clients: ['fe80::/10'],
        ports: [origin.port],
        connect_ports: [echo.port],
        allow: ['allowed.test', 'tunnel.test'],
        dns: {
          hosts: {
            'allowed.test': ['127.0.0.1'],
            'denied.test': ['127.0.0.1'],
            'tunnel.test': ['127.0.0.1'],
            'extra.test': ['127.0.0.1'],
          },
        },
        containers: { blog: { allow: ['extra.test'] } },
        metrics: { listen: '127.0.0.1:0' },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        connect: { require_sni: false },
        unix_socket: isRoot ? { mode: '0640', owner: 'nobody', group: 'nogroup' } : { mode: '0640' },
      },
      { listeners: 3 },
    );
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces the socket', () => {
    expect(proxy.endpoints).toContain(`unix:${sock}`);
  });

  it('forwards an absolute-form GET to an allowed origin and logs the client as unix:NAME', async () => {
    const before = origin.requests.length;
    const res = await unixGet(sock, `http://allowed.test:${origin.port}/via-socket?x=1`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('origin saw GET /via-socket?x=1\n');
    expect(origin.requests.slice(before).map((r) => r.url)).toEqual(['/via-socket?x=1']);
    await until(
      () => proxy.accessLog().some((l) => String(l.path).startsWith('/via-socket')),
      'the access-log line',
    );
    const line = proxy.accessLog().find((l) => String(l.path).startsWith('/via-socket'));
    expect(line).toMatchObject({
      client: 'unix:blog',
      container: 'blog',
      verdict: 'allow',
      host: 'allowed.test',
      status: 200,
    });
  });

  it('answers 403 for a denied name and never reaches the origin', async () => {
    const before = origin.requests.length;
    const res = await unixGet(sock, `http://denied.test:${origin.port}/nope`);
    expect(res.status).toBe(403);
    expect(origin.requests.length).toBe(before);
    await until(() => proxy.accessLog().some((l) => l.host === 'denied.test'), 'the deny line');
    expect(proxy.accessLog().find((l) => l.host === 'denied.test')).toMatchObject({
      client: 'unix:blog',
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
    });
  });

  it('grants containers.NAME additions to the socket of that name only', async () => {
    const mine = await unixGet(sock, `http://extra.test:${origin.port}/extra-blog`);
    expect(mine.status).toBe(200);
    const theirs = await unixGet(other, `http://extra.test:${origin.port}/extra-other`);
    expect(theirs.status).toBe(403);
    expect(origin.requests.some((r) => r.url === '/extra-other')).toBe(false);
    await until(() => proxy.accessLog().filter((l) => l.host === 'extra.test').length === 2, 'both lines');
    const lines = proxy.accessLog().filter((l) => l.host === 'extra.test');
    expect(lines.find((l) => l.path === '/extra-blog')).toMatchObject({
      client: 'unix:blog',
      container: 'blog',
      verdict: 'allow',
      rule: 'containers.blog: extra.test',
    });
    expect(lines.find((l) => l.path === '/extra-other')).toMatchObject({
      client: 'unix:other',
      container: 'other',
      verdict: 'deny',
      reason: 'not_allowlisted',
    });
  });

  it('labels metrics with the socket name as the container', async () => {
    const port = await metricsPortOf(proxy);
    await unixGet(sock, `http://allowed.test:${origin.port}/for-metrics`);
    await unixGet(other, `http://denied.test:${origin.port}/for-metrics`);
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = (await httpGet(port, '/metrics')).body;
      if ((sample(text, 'cuttle_container_requests_total', { container: 'blog', verdict: 'allow' }) ?? 0) > 0)
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      sample(text, 'cuttle_container_requests_total', { container: 'blog', verdict: 'allow' }),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'cuttle_container_requests_total', { container: 'other', verdict: 'deny' }),
    ).toBeGreaterThan(0);
  });

  it('applies `clients` to the IP listener only', async () => {
    const res = await httpGet(proxy.port, `http://allowed.test:${origin.port}/over-tcp`);
    expect(res.status).toBe(403);
    expect(origin.requests.some((r) => r.url === '/over-tcp')).toBe(false);
  });

  it('tunnels CONNECT through the socket', async () => {
    const { socket, status } = await unixConnect(sock, `tunnel.test:${echo.port}`);
    expect(status).toBe(200);
    expect(await exchange(socket, 'ping through the socket')).toBe('ping through the socket');
    socket.end();
    await until(() => proxy.accessLog().some((l) => l.method === 'CONNECT'), 'the tunnel line');
    expect(proxy.accessLog().find((l) => l.method === 'CONNECT')).toMatchObject({
      client: 'unix:blog',
      verdict: 'allow',
      host: 'tunnel.test',
      port: echo.port,
    });
  });

  it('refuses CONNECT to a denied name with 403', async () => {
    const { socket, status } = await unixConnect(sock, `denied.test:${echo.port}`);
    socket.destroy();
    expect(status).toBe(403);
  });

  it('applies unix_socket mode (and owner and group as root)', () => {
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe('640');
    if (isRoot) {
      expect(st.uid).toBe(idOf('/etc/passwd', 'nobody'));
      expect(st.gid).toBe(idOf('/etc/group', 'nogroup'));
    }
  });
});

describe('the socket file across restarts, reloads and drains', () => {
  let dir: string;
  const started: ProxyProcess[] = [];
  const start = async (listen: string[], listeners = listen.length): Promise<ProxyProcess> => {
    const p = await startProxy({ listen }, { listeners });
    started.push(p);
    return p;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'csk-file-'));
  });
  afterAll(async () => {
    for (const p of started) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces the stale socket a killed daemon left behind', async () => {
    const sock = join(dir, 'stale.sock');
    const first = await start([`unix:${sock}`]);
    await first.stop('SIGKILL');
    expect(statSync(sock).isSocket()).toBe(true);
    const second = await start([`unix:${sock}`]);
    expect(second.stderr()).toContain(`removed the stale socket ${sock}`);
    const res = await unixGet(sock, 'http://nothing.test/');
    expect(res.status).toBe(403);
    expect(await second.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it('refuses a socket a live daemon serves: exit 3 naming the path, the first daemon unharmed', async () => {
    const sock = join(dir, 'live.sock');
    const first = await start([`unix:${sock}`]);
    const second = await start([`unix:${sock}`], 0);
    expect(await second.stop('SIGCONT')).toBe(3);
    expect(second.stderr()).toContain(`unix socket ${sock} is in use`);
    expect((await unixGet(sock, 'http://nothing.test/')).status).toBe(403);
    expect(await first.stop()).toBe(0);
  });

  it('refuses a file that is not a socket and leaves it alone', async () => {
    const path = join(dir, 'plain.sock');
    writeFileSync(path, 'not a socket\n');
    const p = await start([`unix:${path}`], 0);
    expect(await p.stop('SIGCONT')).toBe(3);
    expect(p.stderr()).toContain(`unix socket ${path}: a file that is not a socket is in the way`);
    expect(readFileSync(path, 'utf8')).toBe('not a socket\n');
  });

  it('fails to start, naming the path, when the socket directory does not exist', async () => {
    const path = join(dir, 'missing-dir', 'x.sock');
    const p = await start([`unix:${path}`], 0);
    expect(await p.stop('SIGCONT')).toBe(3);
    expect(p.stderr()).toContain(`unix socket ${path}: cannot bind`);
  });

  it('adds and removes unix listeners on reload, applies a changed mode to kept ones, removes the socket on drain', async () => {
    const a = join(dir, 'a.sock');
    const b = join(dir, 'b.sock');
    const p = await start(['127.0.0.1:0', `unix:${a}`]);
    patchConfig(p, { listen: ['127.0.0.1:0', `unix:${b}`] });
    p.child.kill('SIGHUP');
    await p.waitForStderr(/reloaded/);
    expect(p.stderr()).toContain(`listening on unix:${b}`);
    expect(existsSync(a)).toBe(false);
    expect((await unixGet(b, 'http://nothing.test/')).status).toBe(403);
    expect((statSync(b).mode & 0o777).toString(8)).toBe('660');
    patchConfig(p, { unix_socket: { mode: '0600' } });
    p.child.kill('SIGHUP');
    await p.waitForStderr(/reloaded[\s\S]*reloaded/);
    await until(() => (statSync(b).mode & 0o777) === 0o600, 'mode 0600 on the kept socket');
    expect(await p.stop()).toBe(0);
    expect(existsSync(b)).toBe(false);
  });
});
