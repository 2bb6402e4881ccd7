/** The ClientHello reader on synthetic hellos: one row per shape, hostile ones included. */
import { describe, expect, it } from 'vitest';
import { isSniAcceptable } from '../src/tunnel/check-sni.js';
import { normalizeSni, parseClientHello } from '../src/tunnel/client-hello.js';

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

function serverName(...names: [number, string][]): Buffer {
  const list = Buffer.concat(
    names.map(([t, n]) =>
      Buffer.concat([Buffer.from([t]), u16(Buffer.byteLength(n, 'latin1')), Buffer.from(n, 'latin1')]),
    ),
  );
  return ext(0, Buffer.concat([u16(list.length), list]));
}

/** A ClientHello handshake message (type 1) with the given extensions (null: no extensions block). */
function hello(extensions: Buffer[] | null, sessionId = 32): Buffer {
  const parts = [
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([sessionId]),
    Buffer.alloc(sessionId, 1),
    u16(4),
    Buffer.from([0x13, 0x01, 0x13, 0x02]),
    Buffer.from([1, 0]),
  ];
  if (extensions !== null) {
    const all = Buffer.concat(extensions);
    parts.push(u16(all.length), all);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

/** Wraps handshake bytes in TLS records of at most `size` bytes each. */
function records(handshake: Buffer, size = 16_384): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const part = handshake.subarray(i, i + size);
    out.push(Buffer.from([22, 3, 1]), u16(part.length), part);
  }
  return Buffer.concat(out);
}

const sni = (name: string) => records(hello([ext(10, Buffer.from([0, 2, 0, 29])), serverName([0, name])]));

describe('parseClientHello', () => {
  it.each([
    ['a hello with an SNI', sni('origin.test'), { kind: 'hello', sni: 'origin.test' }],
    ['SNI kept as sent (normalised later)', sni('Origin.TEST.'), { kind: 'hello', sni: 'Origin.TEST.' }],
    ['no extensions at all', records(hello(null)), { kind: 'hello', sni: null }],
    [
      'extensions without server_name',
      records(hello([ext(10, Buffer.from([0, 2, 0, 29]))])),
      { kind: 'hello', sni: null },
    ],
    [
      'an empty server_name extension',
      records(hello([ext(0, Buffer.alloc(0))])),
      { kind: 'hello', sni: null },
    ],
    [
      'a hello split over 7-byte records',
      records(hello([serverName([0, 'a.test'])]), 7),
      { kind: 'hello', sni: 'a.test' },
    ],
    [
      'an unknown name type next to host_name',
      records(hello([serverName([1, 'x'], [0, 'b.test'])])),
      { kind: 'hello', sni: 'b.test' },
    ],
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n'), { kind: 'not_tls' }],
    ['an SSLv2-style hello', Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0]), { kind: 'not_tls' }],
    ['SSH', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), { kind: 'not_tls' }],
    ['one byte that could be TLS', Buffer.from([22]), { kind: 'need_more' }],
    ['a truncated record', sni('origin.test').subarray(0, 40), { kind: 'need_more' }],
  ] as const)('%s', (_label, bytes, expected) => {
    expect(parseClientHello(bytes)).toEqual(expected);
  });

  it.each([
    ['two server_name extensions', records(hello([serverName([0, 'a.test']), serverName([0, 'b.test'])]))],
    ['two host_names in one list', records(hello([serverName([0, 'a.test'], [0, 'b.test'])]))],
    ['an empty host_name', records(hello([serverName([0, ''])]))],
    ['a ServerHello (type 2) first', records(Buffer.concat([Buffer.from([2]), hello(null).subarray(1)]))],
    ['a zero-length record', Buffer.from([22, 3, 1, 0, 0, 22, 3, 1, 0, 4])],
    ['a record over 16384 bytes', Buffer.from([22, 3, 1, 0x40, 0x01])],
    ['session id over 32 bytes', records(hello(null, 33))],
    [
      'an alert record after the first fragment',
      Buffer.concat([
        Buffer.from([22, 3, 1, 0, 4]),
        hello(null).subarray(0, 4),
        Buffer.from([21, 3, 3, 0, 2, 2, 40]),
      ]),
    ],
  ])('refuses %s as malformed', (_label, bytes) => {
    expect(parseClientHello(bytes).kind).toBe('malformed');
  });

  it('refuses an extensions block whose length disagrees with the hello', () => {
    const h = hello([serverName([0, 'a.test'])]);
    const bad = Buffer.from(h);
    // The extensions length sits right after the compression methods.
    const at = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
    bad.writeUInt16BE(bad.readUInt16BE(at) + 1, at);
    expect(parseClientHello(records(bad)).kind).toBe('malformed');
  });

  it('never throws on any prefix of a valid hello or on random bytes', () => {
    const good = sni('origin.test');
    for (let i = 0; i <= good.length; i++) expect(() => parseClientHello(good.subarray(0, i))).not.toThrow();
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let n = 0; n < 2000; n++) {
      const bytes = Buffer.from(good);
      for (let k = 0; k < 3; k++) bytes[5 + ((rand() * 7) % (bytes.length - 5))] = rand();
      expect(() => parseClientHello(bytes)).not.toThrow();
    }
  });
});

describe('SNI comparison', () => {
  it.each([
    ['origin.test', 'origin.test', 'name', true],
    ['ORIGIN.Test.', 'origin.test', 'name', true],
    ['other.test', 'origin.test', 'name', false],
    ['origin.test\u0000.evil', 'origin.test', 'name', false],
    ['sub.origin.test', 'origin.test', 'name', false],
    [null, 'origin.test', 'name', false],
    [null, '127.0.0.1', 'ipv4', true],
    ['127.0.0.1', '127.0.0.1', 'ipv4', true],
    ['origin.test', '127.0.0.1', 'ipv4', false],
    [null, '::1', 'ipv6', true],
  ] as const)('SNI %s for %s (%s) -> %s', (sni, host, kind, ok) => {
    expect(isSniAcceptable(sni, host, kind)).toBe(ok);
  });

  it('normalises case and one trailing dot only', () => {
    expect(normalizeSni('A.B.')).toBe('a.b');
    expect(normalizeSni('a.b..')).toBe('a.b.');
    expect(normalizeSni('a b')).toBeNull();
  });
});
