/**
 * Parent chaining (`upstream`) with a real proxy-chain Server as the parent on loopback: our decision runs first
 * (denied requests never reach the parent), the parent sees our credentials, the guard checks the parent's own
 * address, and the parent's refusals come back as status lines.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { type PrepareRequestFunctionOpts, Server as ProxyChainServer, RequestError } from 'proxy-chain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';
import { parseParentProxy } from '../src/upstream/index.js';
import {
  closedPort,
  headerOf,
  readAll,
  sendConnect,
  startTestProxy,
  type TestProxy,
} from './tunnel-harness.js';

const USER = 'cuttle';
const PASS = 'p@ss:word';
const PARENT_URL = (port: number, pass = PASS) =>
  `http://${USER}:${encodeURIComponent(pass)}@127.0.0.1:${port}`;

describe('parseParentProxy', () => {
  it.each([
    ['http://u:p%40ss@127.0.0.1:3128', { host: '127.0.0.1', hostKind: 'ipv4', port: 3128 }, 'u:p@ss'],
    ['http://Parent.Test.:8080/', { host: 'parent.test', hostKind: 'name', port: 8080 }, null],
    ['http://[fe80::1%eth0]:3128', { host: 'fe80::1%eth0', hostKind: 'ipv6', port: 3128 }, null],
    ['http://[fe80::1%25eth0]:3128', { host: 'fe80::1%eth0', hostKind: 'ipv6', port: 3128 }, null],
    ['HTTP://user@[::1]:1', { host: '::1', hostKind: 'ipv6', port: 1 }, 'user:'],
  ] as const)('reads %s', (url, expected, credentials) => {
    const parent = parseParentProxy(url);
    expect(parent).toMatchObject(expected);
    expect(parent.authorization).toBe(
      credentials === null ? null : `Basic ${Buffer.from(credentials).toString('base64')}`,
    );
  });

  it.each([
    ['https://parent.test:3128', /only http/],
    ['socks5://parent.test:1080', /only http/],
    ['http://parent.test', /port is required/],
    ['http://parent.test:03128', /leading zeros/],
    ['http://parent.test:0', /1-65535/],
    ['http://parent.test:3128/path', /no path/],
    ['http://parent.test:3128#x', /no path/],
    ['http://[fe80::1%eth0:3128', /\[ipv6\]:port/],
    ['http://bad_host!:3128', /invalid host/],
  ])('refuses %s', (url, message) => {
    expect(() => parseParentProxy(url)).toThrow(message);
  });

  it('never puts the password in an error or in `redacted`', () => {
    for (const url of [
      'http://u:s3cret@parent.test',
      'http://u:s3cret@[fe80::1%eth0]',
      'ftp://u:s3cret@x:1',
    ]) {
      let message = '';
      try {
        parseParentProxy(url);
      } catch (err) {
        message = String(err);
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('s3cret');
    }
    expect(parseParentProxy('http://u:s3cret@[fe80::1%eth0]:1').redacted).not.toContain('s3cret');
    expect(parseParentProxy('http://u:s3cret@parent.test:1').redacted).toBe(
      'http://u:<redacted>@parent.test:1/',
    );
  });
});

/** Sends raw bytes to the proxy and returns everything it answers until it closes. */
async function sendRaw(port: number, text: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(text);
  return (await readAll(socket)).toString('latin1');
}

interface Seen {
  hostname: string;
  port: number;
  username: string;
  password: string;
  isHttp: boolean;
}

describe('chaining through a proxy-chain parent', () => {
  let pki: TestPki;
  let origin: TlsServer;
  let originPort: number;
  const originBytes: number[] = [];
  let web: HttpServer;
  let webPort: number;
  const webSeen: { url: string; host: string | undefined; auth: string | undefined }[] = [];
  let parent: ProxyChainServer;
  const parentSeen: Seen[] = [];
  let parentConnections = 0;
  let proxy: TestProxy;

  // The parent resolves names itself; its lookup knows only the .test names of this file, all on loopback.
  const lookup = ((hostname: string, options: unknown, cb: (...args: unknown[]) => void) => {
    const callback = typeof options === 'function' ? (options as typeof cb) : cb;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    if (!hostname.endsWith('.test')) {
      callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    } else if (all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  }) as never;

  beforeAll(async () => {
    pki = createTestPki();
    const leaf = pki.issue(['origin.test']);
    origin = createTlsServer({ key: leaf.key, cert: leaf.cert }, (tls) => {
      tls.on('error', () => {});
      tls.on('data', (d: Buffer) => tls.write(`echo:${d}`));
      tls.on('end', () => tls.end());
    });
    origin.on('connection', (raw: Socket) => raw.on('close', () => originBytes.push(raw.bytesRead)));
    origin.on('tlsClientError', () => {});
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    originPort = (origin.address() as { port: number }).port;

    web = createHttpServer((req, res) => {
      webSeen.push({ url: req.url ?? '', host: req.headers.host, auth: req.headers['proxy-authorization'] });
      res.end('from web');
    });
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    webPort = (web.address() as { port: number }).port;

    parent = new ProxyChainServer({
      port: 0,
      host: '127.0.0.1',
      prepareRequestFunction: (opts: PrepareRequestFunctionOpts) => {
        parentSeen.push({
          hostname: opts.hostname,
          port: opts.port,
          username: opts.username,
          password: opts.password,
          isHttp: opts.isHttp,
        });
        if (opts.hostname === 'blocked.test') throw new RequestError('blocked by the parent', 403);
        return { requestAuthentication: opts.username !== USER || opts.password !== PASS, dnsLookup: lookup };
      },
    });
    await parent.listen();
    parent.server.on('connection', () => parentConnections++);

    proxy = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [originPort],
      ports: [webPort],
      allow: ['origin.test', 'web.test', 'blocked.test'],
      // No dns.hosts for the .test names: chained, only the parent resolves the origin's name.
      upstream: PARENT_URL(parent.port),
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await parent?.close(true);
    origin?.close();
    web?.close();
    pki?.dispose();
  });

  it('opens the tunnel through the parent with our credentials; TLS to the origin works end to end', async () => {
    const before = proxy.records.length;
    const seen = parentSeen.length;
    const answer = await sendConnect(proxy.port, `origin.test:${originPort}`);
    expect(answer.status).toBe(200);
    const tls = tlsConnect({ socket: answer.socket, servername: 'origin.test', ca: pki.ca });
    await once(tls, 'secureConnect');
    tls.write('hi');
    const [reply] = (await once(tls, 'data')) as [Buffer];
    expect(reply.toString()).toBe('echo:hi');
    tls.end();
    expect(parentSeen.slice(seen)).toEqual([
      { hostname: 'origin.test', port: originPort, username: USER, password: PASS, isHttp: false },
    ]);
    const rec = await proxy.record(before);
    expect(rec).toMatchObject({ verdict: 'allow', sni: 'origin.test', upstream: `127.0.0.1:${parent.port}` });
  });

  it('never contacts the parent for a request our policy denies', async () => {
    const connections = parentConnections;
    for (const target of [`evil.test:${originPort}`, 'origin.test:443', `127.0.0.1:${originPort}`]) {
      const answer = await sendConnect(proxy.port, target);
      await readAll(answer.socket, answer.rest);
      expect(answer.status).toBe(403);
    }
    expect(parentConnections).toBe(connections);
  });

  it('closes on an SNI mismatch without a byte reaching the origin through the parent', async () => {
    const before = proxy.records.length;
    const closedBefore = originBytes.length;
    const answer = await sendConnect(proxy.port, `origin.test:${originPort}`);
    expect(answer.status).toBe(200);
    const tls = tlsConnect({ socket: answer.socket, servername: 'other.test', ca: pki.ca });
    tls.on('error', () => {});
    await once(answer.socket, 'close');
    expect(await proxy.record(before)).toMatchObject({ reason: 'sni_mismatch', sni: 'other.test' });
    while (originBytes.length === closedBefore) await new Promise((r) => setTimeout(r, 20));
    expect(originBytes.slice(closedBefore)).toEqual([0]);
  });

  it("relays the parent's own refusal status (403) as a status line", async () => {
    const before = proxy.records.length;
    const answer = await sendConnect(proxy.port, `blocked.test:${originPort}`);
    await readAll(answer.socket, answer.rest);
    expect(answer.status).toBe(403);
    expect(headerOf(answer.head, 'X-Cuttle-Error')).toBe('upstream_failed');
    expect(await proxy.record(before)).toMatchObject({
      verdict: 'error',
      reason: 'upstream_failed',
      status: 403,
    });
  });

  it('answers 502 when the parent refuses our credentials (407), and 502 when the parent is down', async () => {
    const wrong = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [originPort],
      allow: ['origin.test'],
      upstream: PARENT_URL(parent.port, 'wrong'),
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    const down = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [originPort],
      allow: ['origin.test'],
      upstream: PARENT_URL(await closedPort()),
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    try {
      const a = await sendConnect(wrong.port, `origin.test:${originPort}`);
      await readAll(a.socket, a.rest);
      expect(a.status).toBe(502);
      expect(headerOf(a.head, 'X-Cuttle-Error')).toBe('upstream_failed');
      const b = await sendConnect(down.port, `origin.test:${originPort}`);
      await readAll(b.socket, b.rest);
      expect(b.status).toBe(502);
      expect(headerOf(b.head, 'X-Cuttle-Error')).toBe('upstream_refused');
      // Neither the log nor the answer carries the parent's password.
      const logged = JSON.stringify([...wrong.records, ...down.records]) + a.head + b.head;
      expect(logged).not.toContain('wrong');
      expect(logged).not.toContain(encodeURIComponent(PASS));
    } finally {
      await wrong.close();
      await down.close();
    }
  });

  it("applies the private-address guard to the parent's own address", async () => {
    const guarded = await startTestProxy({
      clients: ['127.0.0.0/8'],
      connect_ports: [originPort],
      allow: ['origin.test'],
      upstream: PARENT_URL(parent.port),
    });
    const connections = parentConnections;
    try {
      const answer = await sendConnect(guarded.port, `origin.test:${originPort}`);
      await readAll(answer.socket, answer.rest);
      expect(answer.status).toBe(403);
      expect(headerOf(answer.head, 'X-Cuttle-Deny')).toBe('private_address');
      expect(parentConnections).toBe(connections);
    } finally {
      await guarded.close();
    }
  });

  it('forwards plain HTTP through the parent after our decision and hygiene; denied requests never reach it', async () => {
    const seen = parentSeen.length;
    const connections = parentConnections;
    const denied = await sendRaw(
      proxy.port,
      `GET http://evil.test:${webPort}/ HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n`,
    );
    expect(denied).toMatch(/^HTTP\/1\.1 403 /);
    expect(parentConnections).toBe(connections);
    const ok = await sendRaw(
      proxy.port,
      `GET http://web.test:${webPort}/p?q=1 HTTP/1.1\r\nHost: spoofed.test\r\nProxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\nConnection: close\r\n\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
    expect(ok).toMatch(/from web$/);
    // The parent got our credentials, not the client's; the origin got the target's Host and no credentials.
    expect(parentSeen.slice(seen)).toEqual([
      { hostname: 'web.test', port: webPort, username: USER, password: PASS, isHttp: true },
    ]);
    expect(webSeen.at(-1)).toEqual({ url: '/p?q=1', host: `web.test:${webPort}`, auth: undefined });
  });
});
