import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LXD_TEST_SOCKET, lxc, skipUnlessLxd } from '@cuttle/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { LxdApiError, LxdUnreachableError } from '../src/errors.js';
import { LxdClient } from '../src/lxd/client.js';
import { DEB_SOCKET, discoverSocket, INCUS_SOCKET, SNAP_SOCKET } from '../src/lxd/socket-path.js';

describe('socket discovery', () => {
  const table: { name: string; env: NodeJS.ProcessEnv; present: string[]; expected: string | RegExp }[] = [
    {
      name: '$LXD_SOCKET first',
      env: { LXD_SOCKET: '/s/a.sock', LXD_DIR: '/d' },
      present: ['/s/a.sock', '/d/unix.socket'],
      expected: '/s/a.sock',
    },
    {
      name: '$LXD_DIR next',
      env: { LXD_DIR: '/d' },
      present: ['/d/unix.socket', SNAP_SOCKET],
      expected: '/d/unix.socket',
    },
    { name: 'snap before deb', env: {}, present: [SNAP_SOCKET, DEB_SOCKET], expected: SNAP_SOCKET },
    { name: 'deb before incus', env: {}, present: [DEB_SOCKET, INCUS_SOCKET], expected: DEB_SOCKET },
    { name: 'incus last', env: {}, present: [INCUS_SOCKET], expected: INCUS_SOCKET },
    {
      name: 'a named socket that is missing is an error',
      env: { LXD_SOCKET: '/nope' },
      present: [DEB_SOCKET],
      expected: /\$LXD_SOCKET names \/nope, which does not exist/,
    },
    {
      name: 'a named LXD_DIR that is missing is an error',
      env: { LXD_DIR: '/nope' },
      present: [DEB_SOCKET],
      expected: /\$LXD_DIR names \/nope\/unix.socket/,
    },
    {
      name: 'nothing found lists every place',
      env: {},
      present: [],
      expected: /no LXD socket found \(looked at .*snap.*lxd\/unix.socket.*incus/,
    },
  ];
  it.each(table)('$name', ({ env, present, expected }) => {
    const exists = (p: string) => present.includes(p);
    if (typeof expected === 'string') expect(discoverSocket(env, exists)).toBe(expected);
    else expect(() => discoverSocket(env, exists)).toThrow(expected);
  });
});

describe('LXD client against a stand-in daemon on a unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpv-sock-'));
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fake(
    handler: (
      method: string,
      url: string,
      body: string,
      ifMatch: string | undefined,
    ) => [number, unknown, Record<string, string>?],
  ): Promise<string> {
    const path = join(dir, `${servers.length}.sock`);
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        const [status, json, headers] = handler(
          req.method ?? '',
          req.url ?? '',
          body,
          req.headers['if-match'],
        );
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
    return path;
  }

  it('waits on an async answer by its body type (LXD 6.6+ makes network writes async)', async () => {
    const seen: string[] = [];
    const path = await fake((method, url) => {
      seen.push(`${method} ${url}`);
      if (method === 'PUT')
        return [
          202,
          { type: 'async', status_code: 100, operation: '/1.0/operations/op1', metadata: { id: 'op1' } },
        ];
      return [
        200,
        {
          type: 'sync',
          status_code: 200,
          metadata: { id: 'op1', status_code: 200, status: 'Success', err: '', metadata: { done: true } },
        },
      ];
    });
    const r = await new LxdClient({ socketPath: path }).request('PUT', '/1.0/networks/x', { config: {} });
    expect(r.metadata).toEqual({ done: true });
    expect(seen).toEqual(['PUT /1.0/networks/x', 'GET /1.0/operations/op1/wait?timeout=120']);
  });

  it("a failed operation becomes an error carrying LXD's text", async () => {
    const path = await fake((method) =>
      method === 'POST'
        ? [202, { type: 'async', metadata: { id: 'op2' } }]
        : [
            200,
            {
              type: 'sync',
              metadata: {
                id: 'op2',
                status_code: 400,
                status: 'Failure',
                err: 'address already assigned',
                metadata: null,
              },
            },
          ],
    );
    await expect(new LxdClient({ socketPath: path }).request('POST', '/1.0/networks', {})).rejects.toThrow(
      /LXD GET \/1.0\/operations\/op2\/wait.* failed \(400\): address already assigned/,
    );
  });

  it('update sends If-Match and retries once on 412, then gives up', async () => {
    let puts = 0;
    const etags: (string | undefined)[] = [];
    const path = await fake((method, _url, _body, ifMatch) => {
      if (method === 'GET') return [200, { type: 'sync', metadata: { config: {} } }, { etag: `"e${puts}"` }];
      puts++;
      etags.push(ifMatch);
      return [412, { type: 'error', error_code: 412, error: "ETag doesn't match" }];
    });
    const err = await new LxdClient({ socketPath: path })
      .update('/1.0/profiles/p', () => ({}))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LxdApiError);
    expect((err as LxdApiError).status).toBe(412);
    expect(etags).toEqual(['"e0"', '"e1"']);
  });

  it.each([
    { status: 404, kind: 'not_found' },
    { status: 409, kind: 'conflict' },
    { status: 412, kind: 'conflict' },
    { status: 400, kind: 'refused' },
    { status: 403, kind: 'refused' },
    { status: 500, kind: 'refused' },
  ])('an answer with status $status is an error of kind $kind', async ({ status, kind }) => {
    const path = await fake(() => [status, { type: 'error', error_code: status, error: `said ${status}` }]);
    const err = await new LxdClient({ socketPath: path }).request('GET', '/1.0/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LxdApiError);
    expect((err as LxdApiError).kind).toBe(kind);
    expect((err as Error).message).toContain(`said ${status}`);
  });

  it('a failed operation is refused; one still running when the wait ends is a timeout', async () => {
    const op = (status_code: number, status: string, err: string) =>
      fake((method) =>
        method === 'POST'
          ? [202, { type: 'async', metadata: { id: 'o' } }]
          : [200, { type: 'sync', metadata: { id: 'o', status_code, status, err, metadata: null } }],
      );
    const failed = await new LxdClient({ socketPath: await op(400, 'Failure', 'no') })
      .request('POST', '/1.0/networks', {})
      .catch((e: unknown) => e);
    expect((failed as LxdApiError).kind).toBe('refused');
    const running = await new LxdClient({ socketPath: await op(103, 'Running', ''), operationTimeoutS: 1 })
      .request('POST', '/1.0/networks', {})
      .catch((e: unknown) => e);
    expect((running as LxdApiError).kind).toBe('timeout');
    expect((running as Error).message).toContain('operation still Running after 1 s');
  });

  it('a daemon that accepts and never answers is unreachable after the deadline, not a hang', async () => {
    const path = join(dir, 'silent.sock');
    const silent = createNetServer(() => {});
    servers.push(silent as unknown as Server);
    await new Promise<void>((r) => silent.listen(path, r));
    const err = await new LxdClient({ socketPath: path, requestTimeoutMs: 300 })
      .request('GET', '/1.0')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LxdUnreachableError);
    expect((err as LxdUnreachableError).kind).toBe('unreachable');
    expect((err as Error).message).toMatch(/silent\.sock: no answer within 0\.3 s/);
  });

  it('a socket file nobody listens on is unreachable (connection refused)', async () => {
    const path = join(dir, 'dead.sock');
    const gone = createNetServer();
    await new Promise<void>((r) => gone.listen(path, r));
    // Closing a unix server unlinks its file: put a socket file back with nobody behind it.
    await new Promise<void>((r) => gone.close(() => r()));
    execFileSync('python3', [
      '-c',
      `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path)})`,
    ]);
    const err = await new LxdClient({ socketPath: path }).request('GET', '/1.0').catch((e: unknown) => e);
    expect((err as LxdUnreachableError).kind).toBe('unreachable');
    expect((err as Error).message).toMatch(/dead\.sock: ECONNREFUSED/);
  });

  it('an unreachable socket says where it looked', async () => {
    const err = await new LxdClient({ socketPath: join(dir, 'none.sock') })
      .request('GET', '/1.0')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LxdUnreachableError);
    expect((err as LxdUnreachableError).kind).toBe('unreachable');
    expect((err as Error).message).toMatch(/cannot talk to LXD at .*none\.sock: ENOENT/);
  });
});

describe.skipIf(skipUnlessLxd())('LXD client against the private daemon', () => {
  const client = new LxdClient({ socketPath: LXD_TEST_SOCKET });
  afterAll(async () => {
    await lxc(['profile', 'delete', 'cpv-etag']);
  });

  it('reads the server and its API extensions', async () => {
    expect(await client.hasExtension('network_hwaddr')).toBe(true);
    expect(await client.isIncus()).toBe(false);
  });

  it('turns a 404 into a clear error, and getOrNull into null', async () => {
    await expect(client.request('GET', '/1.0/profiles/cpv-missing')).rejects.toThrow(
      /LXD GET \/1.0\/profiles\/cpv-missing failed \(404\): .*not found/i,
    );
    expect(await client.getOrNull('/1.0/profiles/cpv-missing')).toBeNull();
  });

  it('update retries once when the profile changed between read and write (412)', async () => {
    await lxc(['profile', 'create', 'cpv-etag']);
    let calls = 0;
    await client.update<{ config: Record<string, string>; devices: unknown; description: string }>(
      '/1.0/profiles/cpv-etag',
      (cur) => {
        calls++;
        if (calls === 1) {
          // Someone else writes in between: the ETag we hold is stale now.
          execFileSync('lxc', ['profile', 'set', 'cpv-etag', 'user.other', 'y'], {
            env: { ...process.env, LXD_SOCKET: LXD_TEST_SOCKET },
          });
        }
        return {
          config: { ...cur.config, 'user.mine': 'x' },
          devices: cur.devices,
          description: cur.description,
        };
      },
    );
    expect(calls).toBe(2);
    const p = await client.request<{ config: Record<string, string> }>('GET', '/1.0/profiles/cpv-etag');
    expect(p.metadata.config).toEqual({ 'user.other': 'y', 'user.mine': 'x' });
  });
});
