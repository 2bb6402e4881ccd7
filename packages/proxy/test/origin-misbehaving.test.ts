/**
 * Origins that misbehave on purpose, on raw sockets: an unsolicited `101 Switching Protocols` or an unknown 1xx
 * (issue 16 item 1: a 502 `bad_response` at once, never a client left waiting), an interim `100 Continue` nothing
 * asked for (RFC 9110 15.2: passed over, the final answer relayed), interim heads without end (at most
 * `limits.max_header_bytes` of them per response, then 502 and the connection closed), bytes past the answer (never
 * handed to the next request: the connection is not reused), and an origin that closes a pooled
 * keep-alive connection just as cuttle reuses it (issue 16 item 5: one retry on a fresh connection for an idempotent
 * request that got no response byte, logged and counted; a POST is not retried).
 */
import * as net from 'node:net';
import { type ProxyProcess, proxyGet, sendRaw, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, metricsPortOf } from './ops-support.js';

interface ScriptedOrigin extends AsyncDisposable {
  readonly port: number;
  /** Every request head received, in order. */
  readonly heads: string[];
  /** Every byte received, all connections together (latin1). */
  readonly received: string;
  readonly connections: number;
  /** Connections that have closed (either side). */
  readonly closedConnections: number;
  close(): Promise<void>;
}

/** An answer written again and again (`endless` every `everyMs`) until the connection closes. */
interface Endless {
  readonly endless: string;
  readonly everyMs: number;
}

/**
 * An origin on raw sockets: `answer(connection number, request number on that connection, head)` returns the bytes to
 * write (an array: pieces written 50 ms apart, so they arrive as separate reads; an `Endless`: one piece again and
 * again until the connection closes), or `null` to close the connection
 * without a byte (`'hold'` writes nothing and keeps it open).
 */
async function startScriptedOrigin(
  answer: (conn: number, nth: number, head: string) => string | string[] | Endless | null | 'hold',
): Promise<ScriptedOrigin> {
  const heads: string[] = [];
  let received = '';
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let closedConnections = 0;
  const server = net.createServer((s) => {
    const conn = ++connections;
    let nth = 0;
    let buf = '';
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      closedConnections++;
    });
    s.on('error', () => {});
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        const out = answer(conn, ++nth, head);
        if (out === null) s.destroy();
        else if (typeof out === 'string') {
          if (out !== 'hold') s.write(out);
        } else if (!Array.isArray(out)) {
          const timer = setInterval(() => {
            if (s.destroyed || s.writableEnded) clearInterval(timer);
            else s.write(out.endless);
          }, out.everyMs);
          s.once('close', () => clearInterval(timer));
        } else {
          for (const [i, piece] of out.entries()) setTimeout(() => s.write(piece), 50 * i);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const close = (): Promise<void> =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    get received() {
      return received;
    },
    get connections() {
      return connections;
    },
    get closedConnections() {
      return closedConnections;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A proxy allowing `NAME.test` for each scripted origin, answered by static hosts on loopback. */
function proxyFor(
  origins: Map<string, ScriptedOrigin>,
  extra: Record<string, unknown> = {},
): Promise<ProxyProcess> {
  return startProxy({
    ports: [...origins.values()].map((o) => o.port),
    allow: ['.test'],
    dns: { hosts: Object.fromEntries([...origins.keys()].map((n) => [`${n}.test`, ['127.0.0.1']])) },
    destinations: { allow_ranges: ['127.0.0.1/32'] },
    ...extra,
  });
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

describe('forward: 1xx answers from an origin', () => {
  let upgrade: ScriptedOrigin;
  let odd: ScriptedOrigin;
  let hints: ScriptedOrigin;
  let cont: ScriptedOrigin;
  let split: ScriptedOrigin;
  let post: ScriptedOrigin;
  let malformed: ScriptedOrigin;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    // Interim 100s the request never asked for (cuttle never sends Expect upstream): one alone, then a run of
    // 100, 103 and 100 before the final answer.
    cont = await startScriptedOrigin((_conn, nth) =>
      nth === 1
        ? `${CONTINUE}${OK}`
        : `${CONTINUE}HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${CONTINUE}${OK}`,
    );
    // A 100 with a header, cut into reads in the middle of its status line and of its header.
    split = await startScriptedOrigin(() => [
      'HTTP/1.1 10',
      '0 Continue\r\nX-Int',
      'erim: yes\r\n',
      `\r\n${OK.slice(0, 20)}`,
      OK.slice(20),
    ]);
    // The 100 at once, the final answer once the body is in (as an origin that honours Expect would).
    post = await startScriptedOrigin(() => [CONTINUE, OK]);
    // A 100 that is not a well-formed HTTP head: llhttp judges it, and it refuses it.
    malformed = await startScriptedOrigin(() => `HTTP/1.1 100 Continue\r\nno colon here\r\n\r\n${OK}`);
    upgrade = await startScriptedOrigin(
      () => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    odd = await startScriptedOrigin(() => 'HTTP/1.1 199 Odd\r\nX-A: b\r\n\r\n');
    hints = await startScriptedOrigin(() => `HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${OK}`);
    proxy = await startProxy({
      ports: [upgrade.port, odd.port, hints.port, cont.port, split.port, post.port, malformed.port],
      allow: ['.test'],
      dns: {
        hosts: Object.fromEntries(
          ['up', 'odd', 'hints', 'cont', 'split', 'post', 'malformed'].map((n) => [
            `${n}.test`,
            ['127.0.0.1'],
          ]),
        ),
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      // Far longer than the test may wait: a 502 must come from the 1xx itself, not from a timer.
      timeouts: { upstream_response_ms: 60_000 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    for (const o of [upgrade, odd, hints, cont, split, post, malformed]) await o?.close();
  });

  it('answers an unsolicited 101 with 502 bad_response at once and logs it at once', async () => {
    const t0 = Date.now();
    const res = await proxyGet(proxy.port, `http://up.test:${upgrade.port}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    expect(Date.now() - t0).toBeLessThan(5_000);
    const rec = await proxy.waitForRecord((r) => r.host === 'up.test');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(rec).toMatchObject({ status: 502, reason: 'bad_response', verdict: 'error' });
  });

  it('strips Upgrade from a websocket request (the origin never sees it) and answers its 101 with 502', async () => {
    const before = upgrade.heads.length;
    const res = await proxyGet(proxy.port, `http://up.test:${upgrade.port}/ws`, {
      headers: { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    const head = upgrade.heads[before] ?? '';
    expect(head).toMatch(/^GET \/ws HTTP\/1\.1/);
    expect(head).not.toMatch(/^upgrade:/im);
  });

  it('answers a 1xx other than 100, 102 and 103 with 502 bad_response at once', async () => {
    const t0 = Date.now();
    const res = await proxyGet(proxy.port, `http://odd.test:${odd.port}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('passes over a 103 Early Hints and relays the final answer', async () => {
    const res = await proxyGet(proxy.port, `http://hints.test:${hints.port}/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
  });

  it('passes over an unsolicited 100 Continue (and a run of 100, 103, 100) and relays the final answer', async () => {
    const url = `http://cont.test:${cont.port}/`;
    const one = await proxyGet(proxy.port, `${url}one`);
    expect(one.status).toBe(200);
    expect(one.body).toBe('ok');
    const two = await proxyGet(proxy.port, `${url}two`);
    expect(two.status).toBe(200);
    expect(two.body).toBe('ok');
    // The connection stays good: the second request reused it.
    expect(cont.connections).toBe(1);
    for (const path of ['/one', '/two']) {
      const rec = await proxy.waitForRecord((r) => r.host === 'cont.test' && r.path === path);
      expect(rec).toMatchObject({ status: 200, verdict: 'allow', bytesDown: 2, closeReason: null });
      expect(rec.retried).toBeUndefined();
    }
  });

  it('passes over a 100 Continue that arrives cut into several reads', async () => {
    const res = await proxyGet(proxy.port, `http://split.test:${split.port}/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    expect(res.headers['x-interim']).toBeUndefined();
    const rec = await proxy.waitForRecord((r) => r.host === 'split.test');
    expect(rec).toMatchObject({ status: 200, verdict: 'allow' });
  });

  it("answers Expect: 100-continue itself, then passes over the origin's own 100 and relays the final answer", async () => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `POST http://post.test:${post.port}/up HTTP/1.1\r\nHost: post.test\r\nExpect: 100-continue\r\n` +
        'Content-Length: 5\r\nConnection: close\r\n\r\n',
    );
    await expect.poll(() => got, { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    socket.write('hello');
    await closed;
    // One 100 (cuttle's own), then the origin's final answer.
    expect(got.match(/ 100 Continue/g)).toHaveLength(1);
    expect(got).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    expect(post.received).toMatch(/^POST \/up HTTP\/1\.1\r\n[\s\S]*\r\n\r\nhello$/);
    expect(post.received).not.toMatch(/^expect:/im);
    const rec = await proxy.waitForRecord((r) => r.host === 'post.test');
    expect(rec).toMatchObject({ method: 'POST', status: 200, verdict: 'allow', bytesUp: 5, bytesDown: 2 });
  });

  it('answers a malformed 100 head with 502 bad_response', async () => {
    const res = await proxyGet(proxy.port, `http://malformed.test:${malformed.port}/`);
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('bad_response');
    const rec = await proxy.waitForRecord((r) => r.host === 'malformed.test');
    expect(rec).toMatchObject({ status: 502, reason: 'bad_response', verdict: 'error' });
  });
});

describe('forward: an origin that answers with nothing but interim heads', () => {
  const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
  const PROCESSING = 'HTTP/1.1 102 Processing\r\n\r\n';
  // limits.max_header_bytes below: the interim heads of one response may take this many bytes together.
  const LIMIT = 4096;
  // The first connection of each misbehaves; every later one answers at once (the proxy opens it only if it
  // discarded the first).
  const scripts: Record<string, () => string | Endless> = {
    // A flood of 100s, 20 heads every 5 ms: before the bound, dropped one by one until upstream_response_ms.
    flood: () => ({ endless: CONTINUE.repeat(20), everyMs: 5 }),
    // A 102 every 20 ms: undici restarts its response timer on each, so before the bound it never ended.
    processing: () => ({ endless: PROCESSING, everyMs: 20 }),
    // 103s without end, 4 every 10 ms.
    hints: () => ({ endless: EARLY_HINTS.repeat(4), everyMs: 10 }),
    // Just under the bound in total, then the final answer: relayed, and the connection kept.
    under: () => `${CONTINUE.repeat(100)}${PROCESSING.repeat(20)}${EARLY_HINTS.repeat(10)}${OK}`,
    // Over the bound in total (each head small), even with the final answer right behind.
    over: () => `${CONTINUE.repeat(Math.ceil(LIMIT / CONTINUE.length) + 1)}${OK}`,
  };
  const origins = new Map<string, ScriptedOrigin>();
  let proxy: ProxyProcess;

  beforeAll(async () => {
    expect(`${CONTINUE.repeat(100)}${PROCESSING.repeat(20)}${EARLY_HINTS.repeat(10)}`.length).toBeLessThan(
      LIMIT,
    );
    for (const [name, script] of Object.entries(scripts))
      origins.set(name, await startScriptedOrigin((conn) => (conn === 1 ? script() : OK)));
    proxy = await proxyFor(origins, {
      limits: { max_header_bytes: LIMIT },
      // Longer than the client waits (10 s): the 502 must come from the bound, not from this timer.
      timeouts: { upstream_response_ms: 20_000 },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    for (const o of origins.values()) await o.close();
  });

  it.each(['flood', 'processing', 'hints', 'over'])(
    'answers 502 bad_response once the interim heads pass max_header_bytes, and closes that connection (%s)',
    async (name) => {
      const o = origins.get(name) as ScriptedOrigin;
      const url = `http://${name}.test:${o.port}/`;
      const t0 = Date.now();
      const res = await proxyGet(proxy.port, `${url}first`);
      expect(res.status).toBe(502);
      expect(res.headers['x-cuttle-error']).toBe('bad_response');
      expect(res.body).not.toMatch(/ 10[0-3] /);
      expect(Date.now() - t0).toBeLessThan(10_000);
      const rec = await proxy.waitForRecord((r) => r.host === `${name}.test` && r.path === '/first');
      expect(rec).toMatchObject({ status: 502, reason: 'bad_response', verdict: 'error', bytesDown: 0 });
      // The connection is closed, never pooled: the next request opens a new one.
      await expect.poll(() => o.closedConnections, { timeout: 5_000 }).toBe(1);
      const next = await proxyGet(proxy.port, `${url}next`);
      expect(next.status).toBe(200);
      expect(next.body).toBe('ok');
      expect(o.connections).toBe(2);
    },
  );

  it('relays the final answer after interim heads under max_header_bytes in total, and keeps the connection', async () => {
    const o = origins.get('under') as ScriptedOrigin;
    const url = `http://under.test:${o.port}/`;
    for (const path of ['one', 'two']) {
      const res = await proxyGet(proxy.port, `${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.body).toBe('ok');
    }
    // Both answers came on connection 1 (its second request got the same run of interim heads).
    expect(o.connections).toBe(1);
  });
});

describe('forward: an origin that sends more than the answer (response queue poisoning)', () => {
  const INJECTED = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Injected: yes\r\n\r\ninjected';
  const REAL = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal';
  // What connection 1 sends after its first answer; every later connection answers REAL.
  const extras: Record<string, string | string[]> = {
    // A second answer in the same read as the first.
    same: `${OK}${INJECTED}`,
    // A second answer 50 ms later, while the connection sits idle in the pool.
    idle: [OK, INJECTED],
    // Half a head while idle, which the next request's answer would complete.
    partial: [OK, 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Inj'],
    // A stray interim head while idle.
    interim: [OK, CONTINUE],
    // Bytes past the Content-Length body.
    body: `${OK}EXTRA`,
  };
  const origins = new Map<string, ScriptedOrigin>();
  let proxy: ProxyProcess;

  beforeAll(async () => {
    for (const [name, extra] of Object.entries(extras))
      origins.set(name, await startScriptedOrigin((conn) => (conn === 1 ? extra : REAL)));
    proxy = await proxyFor(origins);
  });
  afterAll(async () => {
    await proxy?.close();
    for (const o of origins.values()) await o.close();
  });

  it.each(Object.keys(extras))(
    'relays the first answer and never hands the rest to the next request: that connection is not reused (%s)',
    async (name) => {
      const o = origins.get(name) as ScriptedOrigin;
      const url = `http://${name}.test:${o.port}/`;
      const first = await proxyGet(proxy.port, `${url}first`);
      expect(first.status).toBe(200);
      expect(first.body).toBe('ok');
      // Past the 50 ms the late bytes take.
      await new Promise((r) => setTimeout(r, 300));
      const next = await proxyGet(proxy.port, `${url}next`);
      expect(next.status).toBe(200);
      expect(next.body).toBe('real');
      expect(next.headers['x-injected']).toBeUndefined();
      expect(o.connections).toBe(2);
      const rec = await proxy.waitForRecord((r) => r.host === `${name}.test` && r.path === '/next');
      expect(rec).toMatchObject({ status: 200, bytesDown: 4 });
    },
  );
});

describe('forward: a pooled connection the origin closes as it is reused', () => {
  let origin: ScriptedOrigin;
  let proxy: ProxyProcess;
  let metricsPort: number;

  beforeAll(async () => {
    // Connection 1 answers its first request and closes on the second without a byte: the stale pooled
    // connection. Every later connection answers normally.
    origin = await startScriptedOrigin((conn, nth) => (conn === 1 && nth === 2 ? null : OK));
    proxy = await startProxy({
      ports: [origin.port],
      allow: ['.test'],
      dns: { hosts: { 'stale.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      metrics: { listen: '127.0.0.1:0' },
    });
    metricsPort = await metricsPortOf(proxy);
  });
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  it('retries an idempotent request once on a fresh connection, logs the retry and counts it', async () => {
    const url = `http://stale.test:${origin.port}/`;
    expect((await proxyGet(proxy.port, `${url}one`)).status).toBe(200);
    expect(origin.connections).toBe(1);
    const res = await proxyGet(proxy.port, `${url}two`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    // The second request went to the pooled connection 1 (closed there), then once more on connection 2.
    expect(origin.connections).toBe(2);
    expect(origin.heads.filter((h) => h.startsWith('GET /two '))).toHaveLength(2);
    const rec = await proxy.waitForRecord((r) => r.path === '/two');
    expect(rec).toMatchObject({ status: 200, verdict: 'allow', retried: true });
    expect(proxy.accessLog().find((r) => r.path === '/one')?.retried).toBeUndefined();
    const text = (await httpGet(metricsPort, '/metrics')).body;
    expect(text).toMatch(/^cuttle_upstream_retries_total 1$/m);
  });

  it('does not retry a POST: it answers 502 upstream_reset', async () => {
    await using o = await startScriptedOrigin((conn, nth) => (conn === 1 && nth === 2 ? null : OK));
    await using p = await startProxy({
      ports: [o.port],
      allow: ['.test'],
      dns: { hosts: { 'stale.test': ['127.0.0.1'] } },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    });
    const url = `http://stale.test:${o.port}/`;
    expect((await proxyGet(p.port, `${url}one`)).status).toBe(200);
    const res = await sendRaw(
      p.port,
      `POST ${url}post HTTP/1.1\r\nHost: stale.test\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody`,
    );
    expect(res.status).toBe(502);
    expect(res.headers['x-cuttle-error']).toBe('upstream_reset');
    expect(o.heads.filter((h) => h.startsWith('POST /post '))).toHaveLength(1);
  });
});

describe('forward: an origin answer that does not keep its connection alive', () => {
  const answers = {
    close: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
    http10: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    brief: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=1\r\n\r\nok',
  };
  const origins = new Map<string, ScriptedOrigin>();
  let proxy: ProxyProcess;

  beforeAll(async () => {
    // Each answers and then keeps its socket open: only cuttle can tell that the connection is done.
    for (const [name, answer] of Object.entries(answers))
      origins.set(name, await startScriptedOrigin(() => answer));
    proxy = await proxyFor(origins);
  });
  afterAll(async () => {
    await proxy?.close();
    for (const o of origins.values()) await o.close();
  });

  it.each(Object.keys(answers))(
    'sends the next request on a new connection, not as a retry (%s)',
    async (name) => {
      const o = origins.get(name) as ScriptedOrigin;
      const url = `http://${name}.test:${o.port}/`;
      for (const path of ['one', 'two']) {
        const res = await proxyGet(proxy.port, `${url}${path}`);
        expect(res.status).toBe(200);
        expect(res.body).toBe('ok');
      }
      expect(o.connections).toBe(2);
      expect(o.heads.filter((h) => h.startsWith('GET /two '))).toHaveLength(1);
      const rec = await proxy.waitForRecord((r) => r.host === `${name}.test` && r.path === '/two');
      expect(rec).toMatchObject({ status: 200, verdict: 'allow' });
      expect(rec.retried).toBeUndefined();
    },
  );
});
