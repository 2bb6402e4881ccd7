import {
  type Origin,
  type ProxyProcess,
  sendRaw,
  startOrigin,
  startProxy,
  startRawOrigin,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Origin responses are parsed strictly: ambiguous framing or too many headers is a 502, never passed on.
const LIMIT = 20;
const fill = (n: number): string => Array.from({ length: n }, (_, i) => `X-R-${i}: v\r\n`).join('');

const BAD_RESPONSES: [string, string][] = [
  ['duplicate Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'],
  ['differing Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
  [
    'Content-Length with Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  [
    'a transfer coding other than chunked',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  ],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n'],
  ['bare LF in the head', 'HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 0\r\n\r\n'],
  ['headers reaching the count limit', `HTTP/1.1 200 OK\r\n${fill(LIMIT)}Content-Length: 0\r\n\r\n`],
  [
    'a Content-Length hidden past the count limit',
    `HTTP/1.1 200 OK\r\n${fill(LIMIT + 10)}Content-Length: 2\r\n\r\nok`,
  ],
  [
    'a head past the byte limit',
    `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`,
  ],
  ['garbage instead of a status line', 'HTTP/9 nonsense\r\n\r\n'],
];

describe('forward: origin responses', () => {
  const raws: Awaited<ReturnType<typeof startRawOrigin>>[] = [];
  let good: Origin;
  let proxy: ProxyProcess;
  const hosts: Record<string, string[]> = {};

  beforeAll(async () => {
    good = await startOrigin({
      respond: (req, res) => {
        if (req.url === '/solo') {
          // One token, no comma: the header it names goes all the same.
          res.writeHead(200, {
            'Content-Type': 'text/plain',
            Connection: ' X-Solo ',
            'X-Solo': 's',
            'X-Kept': 'k',
          });
          res.end('solo');
          return;
        }
        res.writeHead(200, {
          'Content-Type': 'text/plain',
          Connection: 'close, X-Hop',
          'X-Hop': 'secret',
          'Keep-Alive': 'timeout=1',
          'X-Kept': 'k',
        });
        res.end('fine');
      },
    });
    for (const [, bytes] of BAD_RESPONSES) raws.push(await startRawOrigin(bytes));
    hosts['good.test'] = ['127.0.0.1'];
    raws.forEach((_, i) => {
      hosts[`bad${i}.test`] = ['127.0.0.1'];
    });
    proxy = await startProxy({
      ports: [good.port, ...raws.map((r) => r.port)],
      allow: ['.test'],
      dns: { hosts },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
      limits: { max_header_count: LIMIT },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await good?.close();
    for (const r of raws) await r.close();
  });

  it.each(BAD_RESPONSES.map(([name], i) => [name, i] as const))(
    'answers 502 to an origin response with %s',
    async (_n, i) => {
      const raw = raws[i]!;
      const res = await sendRaw(
        proxy.port,
        `GET http://bad${i}.test:${raw.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(raw.connections).toBe(1);
      expect(res.status).toBe(502);
      expect(res.headers['x-cuttle-error']).toBe('bad_response');
      expect(res.raw).not.toContain('hello');
      expect(res.raw).not.toContain('X-R-');
    },
  );

  it('strips hop-by-hop and Connection-named headers from a response', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://good.test:${good.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain('fine');
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers['x-kept']).toBe('k');
  });

  it('strips the header a one-token Connection names', async () => {
    const res = await sendRaw(
      proxy.port,
      `GET http://good.test:${good.port}/solo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain('solo');
    expect(res.headers['x-solo']).toBeUndefined();
    expect(res.headers['x-kept']).toBe('k');
  });
});
