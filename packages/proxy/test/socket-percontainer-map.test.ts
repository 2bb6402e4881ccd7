/**
 * Per-instance sockets (`identity.socket_dir`) against a real daemon and real files: the identity map lists
 * instances with `"socket": true`, cuttle binds `DIR/NAME.sock` for each and removes the socket of an instance that
 * leaves the map. The socket's name is the identity: `client: unix:NAME`, `container: NAME`, and `containers.NAME`
 * grants on that socket only. A broken map keeps the sockets of the last good one.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Origin, type ProxyProcess, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

/** The error code of a connect to `path` (null: it connected). */
function connectError(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('per-instance sockets from the identity map', () => {
  let dir: string;
  let sockDir: string;
  let mapFile: string;
  let origin: Origin;
  let proxy: ProxyProcess;
  const sockOf = (name: string): string => join(sockDir, `${name}.sock`);
  let writes = 0;
  const writeMap = (text: string): void => {
    // Aside and renamed over, as the watcher does; a distinct size or mtime each time for the stat poll.
    const tmp = `${mapFile}.tmp`;
    writeFileSync(tmp, `${text}${' '.repeat(++writes)}`);
    renameSync(tmp, mapFile);
  };
  const mapOf = (names: string[], extra: object[] = []): string =>
    JSON.stringify({ version: 1, instances: [...names.map((name) => ({ name, socket: true })), ...extra] });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpc-'));
    sockDir = join(dir, 'i');
    mkdirSync(sockDir);
    mapFile = join(dir, 'identity.json');
    writeMap(
      mapOf(
        ['cpc-a', 'cpc-b'],
        // A bridged instance without "socket": identified by its address, no socket.
        [
          {
            name: 'cpc-nic',
            mac: '00:16:3e:12:34:56',
            address: 'fe80::216:3eff:fe12:3456',
            bridge: 'lxdbr0',
            filtered: true,
          },
        ],
      ),
    );
    origin = await startOrigin();
    proxy = await startProxy(
      {
        listen: ['127.0.0.1:0'],
        clients: ['fe80::/10'],
        ports: [origin.port],
        allow: ['allowed.test'],
        dns: {
          hosts: {
            'allowed.test': ['127.0.0.1'],
            'extra.test': ['127.0.0.1'],
          },
        },
        containers: { 'cpc-a': { allow: ['extra.test'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        identity: { map_file: mapFile, socket_dir: sockDir },
        unix_socket: { mode: '0640' },
      },
      { listeners: 3 },
    );
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds one socket per "socket": true instance, with unix_socket mode, and none for the others', () => {
    expect(proxy.endpoints).toEqual(
      expect.arrayContaining([`unix:${sockOf('cpc-a')}`, `unix:${sockOf('cpc-b')}`]),
    );
    expect(statSync(sockOf('cpc-a')).isSocket()).toBe(true);
    expect(statSync(sockOf('cpc-a')).mode & 0o777).toBe(0o640);
    expect(existsSync(sockOf('cpc-nic'))).toBe(false);
  });

  it('logs the client as unix:NAME and grants containers.NAME on that socket only', async () => {
    const mine = await unixGet(sockOf('cpc-a'), `http://extra.test:${origin.port}/extra-a`);
    expect(mine.status).toBe(200);
    expect(mine.body).toBe('origin saw GET /extra-a\n');
    const theirs = await unixGet(sockOf('cpc-b'), `http://extra.test:${origin.port}/extra-b`);
    expect(theirs.status).toBe(403);
    expect(origin.requests.some((r) => r.url === '/extra-b')).toBe(false);
    const plain = await unixGet(sockOf('cpc-b'), `http://allowed.test:${origin.port}/plain-b`);
    expect(plain.status).toBe(200);
    await until(() => proxy.accessLog().length >= 3, 'three access-log lines');
    const byPath = (p: string) => proxy.accessLog().find((l) => l.path === p);
    expect(byPath('/extra-a')).toMatchObject({
      client: 'unix:cpc-a',
      container: 'cpc-a',
      verdict: 'allow',
      rule: 'containers.cpc-a: extra.test',
    });
    expect(byPath('/extra-b')).toMatchObject({
      client: 'unix:cpc-b',
      container: 'cpc-b',
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
    });
    expect(byPath('/plain-b')).toMatchObject({ client: 'unix:cpc-b', verdict: 'allow' });
  });

  it('adds the socket of an instance that joins the map and removes the one of an instance that left', async () => {
    writeMap(mapOf(['cpc-a', 'cpc-c']));
    await until(() => existsSync(sockOf('cpc-c')) && !existsSync(sockOf('cpc-b')), 'cpc-c in, cpc-b out');
    expect(await connectError(sockOf('cpc-b'))).toBe('ENOENT');
    const res = await unixGet(sockOf('cpc-c'), `http://allowed.test:${origin.port}/from-c`);
    expect(res.status).toBe(200);
    await until(() => proxy.accessLog().some((l) => l.path === '/from-c'), 'the cpc-c line');
    expect(proxy.accessLog().find((l) => l.path === '/from-c')).toMatchObject({
      client: 'unix:cpc-c',
      container: 'cpc-c',
    });
    // The kept socket still serves.
    expect((await unixGet(sockOf('cpc-a'), `http://allowed.test:${origin.port}/a-kept`)).status).toBe(200);
  });

  it('refuses a broken map naming the entry, and keeps the sockets of the last good one', async () => {
    writeMap(mapOf(['cpc-a'], [{ name: 'cpc-d', socket: 'yes' }]));
    await proxy.waitForStderr(/instances\[1\]\.socket: expected true or false; keeping the last good map/);
    expect(existsSync(sockOf('cpc-a'))).toBe(true);
    expect(existsSync(sockOf('cpc-c'))).toBe(true);
    expect(existsSync(sockOf('cpc-d'))).toBe(false);
    writeMap(mapOf(['../x'].concat([])));
    await proxy.waitForStderr(/instances\[0\]\.name: not an LXD instance name/);
    expect(existsSync(join(dir, 'x.sock'))).toBe(false);
  });

  it('removes every instance socket on drain', async () => {
    expect(await proxy.stop()).toBe(0);
    expect(existsSync(sockOf('cpc-a'))).toBe(false);
    expect(existsSync(sockOf('cpc-c'))).toBe(false);
  });
});

describe('per-instance sockets whose directory is missing', () => {
  let dir: string;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpc-'));
    writeFileSync(
      join(dir, 'identity.json'),
      JSON.stringify({ version: 1, instances: [{ name: 'cpc-x', socket: true }] }),
    );
    proxy = await startProxy({
      listen: ['127.0.0.1:0'],
      identity: { map_file: join(dir, 'identity.json'), socket_dir: join(dir, 'later') },
    });
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts anyway, names the socket it cannot bind, and binds it on the next map change', async () => {
    await proxy.waitForStderr(/instance socket: unix socket \S+\/later\/cpc-x\.sock: cannot bind/);
    expect(proxy.child.exitCode).toBeNull();
    mkdirSync(join(dir, 'later'));
    const tmp = join(dir, 'identity.json.tmp');
    writeFileSync(
      tmp,
      JSON.stringify({
        version: 1,
        instances: [
          { name: 'cpc-x', socket: true },
          { name: 'cpc-y', socket: true },
        ],
      }),
    );
    renameSync(tmp, join(dir, 'identity.json'));
    await until(
      () => existsSync(join(dir, 'later', 'cpc-x.sock')) && existsSync(join(dir, 'later', 'cpc-y.sock')),
      'both sockets',
    );
    expect(await connectError(join(dir, 'later', 'cpc-x.sock'))).toBeNull();
  });
});
