/**
 * The JSON access line is built without JSON.stringify (log/access-line.ts): it must be the very text
 * JSON.stringify writes for the same fields, whatever the free-text fields hold (quotes, backslashes, control
 * characters, non-ASCII, surrogate pairs and lone surrogates), and parse back to the same values.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';
import type { AccessRecord } from '../src/core/context.js';
import { formatJsonLine } from '../src/log/access-line.js';
import { parseAccessLine, toJsonFields } from '../src/log/index.js';

const TIME = 1795926142257;
const ISO = new Date(TIME).toISOString();

const BASE: AccessRecord = {
  time: TIME,
  client: 'fe80::216:3eff:fe00:1%lxdbr0',
  container: 'c1',
  method: 'GET',
  host: 'name.test',
  port: 8080,
  path: '/1k.txt?token=secret',
  verdict: 'allow',
  reason: 'allowlisted',
  rule: 'name.test',
  status: 200,
  bytesUp: 0,
  bytesDown: 1024,
  durationMs: 3,
  upstream: '127.0.0.1:8080',
  answers: ['127.0.0.1', '::1'],
  closeReason: null,
  sni: null,
  contentType: 'text/plain',
  retried: false,
};

/** What the line must be: JSON.stringify of `time` and the fields, in their order. */
function reference(rec: AccessRecord): string {
  return JSON.stringify({ time: ISO, ...toJsonFields(rec) });
}

const HOSTILE: readonly string[] = [
  '',
  '"',
  '\\',
  '\\"',
  'a"b\\c',
  '\u0000',
  '\u0001\u001f',
  '\b\f\n\r\t',
  '\u007f\u0080\u00ff',
  'é',
  'ünïcödé',
  '名前.test',
  '\u2028\u2029',
  '😀',
  '\ud83d\ude00',
  '\ud800',
  '\udfff',
  'x\ud800y',
  '\ude00\ud83d',
  '\ud83d',
  '</script>',
  '{"verdict":"allow"}',
  ' leading and trailing ',
];

/** The free-text fields of a record (strings the proxy got from a client, an origin, the config or a map). */
const STRING_FIELDS = [
  'client',
  'container',
  'method',
  'host',
  'path',
  'rule',
  'upstream',
  'sni',
  'contentType',
] as const;

describe('JSON access line', () => {
  it('is JSON.stringify of the fields for an allowed, a denied and a tunnel record', () => {
    const rows: AccessRecord[] = [
      BASE,
      {
        ...BASE,
        verdict: 'deny',
        reason: 'not_allowlisted',
        rule: null,
        status: 403,
        bytesDown: 0,
        upstream: null,
        answers: null,
        contentType: null,
        container: null,
      },
      {
        ...BASE,
        method: 'CONNECT',
        port: 443,
        path: null,
        closeReason: 'client_end',
        sni: 'name.test',
        answers: [],
      },
      { ...BASE, retried: true },
      {
        ...BASE,
        method: '-',
        host: '-',
        port: 0,
        path: null,
        verdict: 'error',
        reason: 'bad_request',
        status: 400,
      },
    ];
    for (const rec of rows) expect(formatJsonLine(rec, ISO)).toBe(reference(rec));
  });

  it.each(STRING_FIELDS)('escapes hostile values of %s exactly as JSON.stringify does', (field) => {
    for (const value of HOSTILE) {
      const rec = { ...BASE, [field]: value } as AccessRecord;
      const line = formatJsonLine(rec, ISO);
      expect(line, JSON.stringify(value)).toBe(reference(rec));
      const back = JSON.parse(line) as Record<string, unknown>;
      const key = field === 'contentType' ? 'content_type' : field;
      // The path is logged without its query value.
      const want = field === 'path' && value.includes('?') ? value.slice(0, value.indexOf('?') + 1) : value;
      // A lone surrogate comes back as itself: JSON.stringify wrote it as an escape, not as a replacement character.
      expect(back[key]).toBe(want);
    }
  });

  it('has room for the longest text a field can become (every code unit escaped, or 3 bytes of UTF-8)', () => {
    for (const unit of ['\u0001', '\ud800', '\u20ac', '"', 'x']) {
      const long = unit.repeat(300);
      const rec: AccessRecord = {
        ...BASE,
        client: long,
        container: long,
        method: long,
        host: long,
        path: long,
        rule: long,
        upstream: long,
        answers: [long, long],
        sni: long,
        contentType: long,
      };
      expect(formatJsonLine(rec, ISO), JSON.stringify(unit)).toBe(reference(rec));
    }
  });

  it('escapes hostile values in the list of answers', () => {
    const rec = { ...BASE, answers: [...HOSTILE] };
    expect(formatJsonLine(rec, ISO)).toBe(reference(rec));
    expect((JSON.parse(formatJsonLine(rec, ISO)) as { answers: string[] }).answers).toEqual(HOSTILE);
  });

  it('writes numbers as JSON.stringify does, non-finite ones as null', () => {
    for (const n of [0, -0, 1, 65535, 2 ** 53, 1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const rec = { ...BASE, port: n, status: n, bytesUp: n, bytesDown: n, durationMs: n };
      expect(formatJsonLine(rec, ISO), String(n)).toBe(reference(rec));
    }
  });

  it('matches JSON.stringify on generated strings of every kind of UTF-16 code unit', () => {
    const r = seededRandom(12);
    // Code units drawn from the ranges that matter: ASCII controls, printable ASCII with `"` and `\`, Latin-1,
    // the BMP, and both halves of surrogate pairs, so pairs, lone halves and reversed pairs all occur.
    const ranges: readonly [number, number][] = [
      [0x00, 0x20],
      [0x20, 0x7f],
      [0x22, 0x23],
      [0x5c, 0x5d],
      [0x7f, 0x100],
      [0x100, 0xd800],
      [0xd800, 0xdc00],
      [0xdc00, 0xe000],
      [0xe000, 0x10000],
    ];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const len = Math.floor(r() * 12);
      for (let j = 0; j < len; j++) {
        const [lo, hi] = ranges[Math.floor(r() * ranges.length)] as [number, number];
        s += String.fromCharCode(lo + Math.floor(r() * (hi - lo)));
      }
      const field = STRING_FIELDS[i % STRING_FIELDS.length] as (typeof STRING_FIELDS)[number];
      const rec = { ...BASE, [field]: s } as AccessRecord;
      expect(formatJsonLine(rec, ISO), JSON.stringify(s)).toBe(reference(rec));
    }
  });

  it('reads back through parseAccessLine with the same fields', () => {
    const rec = {
      ...BASE,
      client: 'fe80::1%"eth0\\',
      rule: 'rules[2] "x"',
      contentType: 'text/plain; charset="\u00e9"',
    };
    expect(parseAccessLine(formatJsonLine(rec, ISO))).toMatchObject({
      format: 'json',
      time: TIME,
      client: rec.client,
      host: 'name.test',
      port: 8080,
      path: '/1k.txt?',
      verdict: 'allow',
      rule: rec.rule,
      status: 200,
      contentType: rec.contentType,
    });
  });
});
