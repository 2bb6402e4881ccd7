/**
 * `checkResponseHead` (one pass over an origin's raw head, forward/hygiene.ts) must say exactly what the three
 * checks it fuses say on the same head: `checkFraming(.., 'bad_response')`, the first Content-Type, and
 * `endToEndHeaders`. Compared on fixed hostile heads and on generated ones (seeded: the same cases in every run),
 * whose names, values and duplicates are drawn from what framing and hop-by-hop handling look at.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';
import {
  checkFraming,
  checkResponseHead,
  endToEndHeaders,
  lowerNames,
  type ResponseHead,
} from '../src/forward/hygiene.js';

/** What the fused pass must return: the three separate checks, as send-upstream.ts called them before. */
function reference(names: string[], limit: number): ResponseHead {
  const lower = names.length / 2 >= limit ? [] : lowerNames(names);
  const problem = checkFraming(names, limit, 'bad_response', lower);
  if (problem !== null) return { ok: false, problem };
  const ct = lower.indexOf('content-type');
  return {
    ok: true,
    headers: endToEndHeaders(names, null, lower),
    contentType: ct === -1 ? null : (names[2 * ct + 1] as string),
  };
}

const raw = (names: string[]): Buffer[] => names.map((s) => Buffer.from(s, 'latin1'));

const FIXED: string[][] = [
  ['Content-Type', 'text/plain', 'Content-Length', '5', 'Server', 'nginx'],
  ['Content-Length', '5', 'content-length', '5'],
  ['Content-Length', '5x'],
  ['Content-Length', '5', 'Transfer-Encoding', 'chunked'],
  ['Transfer-Encoding', 'gzip, chunked'],
  ['Transfer-Encoding', ' Chunked '],
  ['X-A', 'a\rb'],
  ['X-A', 'a\0b'],
  ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'X-Secret', '1', 'Date', 'x'],
  ['Connection', 'close, X-Secret', 'X-Secret', '1', 'x-secret', '2', 'X-Kept', '3'],
  ['Connection', 'x-one', 'connection', 'X-Two ,, upgrade', 'X-One', '1', 'X-Two', '2', 'Upgrade', 'h2c'],
  ['Content-Type', 'a/b', 'content-type', 'c/d', 'Host', 'evil.test', 'Proxy-Connection', 'x', 'TE', 'x'],
  ['Trailer', 'X', 'Proxy-Authorization', 'Basic x', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
  ['Caf\u00e9', '\u00ff\u00e9', 'Content-Type', 'text/html; charset=latin1'],
  [],
];

const NAMES = [
  'Content-Length',
  'content-length',
  'Transfer-Encoding',
  'Content-Type',
  'Connection',
  'Keep-Alive',
  'Host',
  'Upgrade',
  'TE',
  'Trailer',
  'Proxy-Connection',
  'Proxy-Authorization',
  'X-Secret',
  'x-SECRET',
  'Set-Cookie',
  'Date',
  'Server',
];
const VALUES = [
  '0',
  '12',
  '12 ',
  '-1',
  'chunked',
  'CHUNKED',
  'gzip',
  'close',
  'keep-alive',
  'x-secret',
  'close, X-Secret',
  'Date, ',
  'host,te',
  'text/plain',
  'a\nb',
  '',
  '\u00e9',
];

function generated(seed: number, count: number): string[][] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const out: string[][] = [];
  for (let c = 0; c < count; c++) {
    const head: string[] = [];
    const n = Math.floor(rnd() * 9);
    for (let i = 0; i < n; i++) head.push(pick(NAMES), pick(VALUES));
    out.push(head);
  }
  return out;
}

describe('checkResponseHead: the fused origin-head pass', () => {
  it.each(FIXED.map((h) => [h.join(' | ') || '(no headers)', h]))('%s', (_label, names) => {
    expect(checkResponseHead(raw(names as string[]), 100)).toEqual(reference(names as string[], 100));
  });

  it('agrees with the separate checks on 5,000 generated heads', () => {
    let problems = 0;
    for (const names of generated(12, 5000)) {
      const got = checkResponseHead(raw(names), 100);
      expect(got).toEqual(reference(names, 100));
      if (!got.ok) problems++;
    }
    // Both kinds of outcome were exercised, not only one.
    expect(problems).toBeGreaterThan(500);
    expect(problems).toBeLessThan(4500);
  });

  it('reads fields that are views into one read buffer, in order, out of order or far apart', () => {
    const names = [
      'Content-Type',
      'text/plain',
      'Connection',
      'close, X-A',
      'X-A',
      '1',
      'Server',
      'caf\u00e9',
    ];
    // One read buffer: the head at its start, a copy of the last value far behind it.
    const wire = Buffer.alloc(64 * 1024, 0x41);
    wire.write(`HTTP/1.1 200 OK\r\n${names.join('\r\n')}\r\n\r\n`, 0, 'latin1');
    wire.write(names[7] as string, 60_000, 'latin1');
    const views: Buffer[] = [];
    let at = wire.indexOf('\r\n') + 2;
    for (const n of names) {
      views.push(wire.subarray(at, at + n.length));
      at += n.length + 2;
    }
    const want = reference(names, 100);
    expect(checkResponseHead(views, 100)).toEqual(want);
    // Out of order (not one span): each field on its own.
    const swapped = [views[2], views[3], views[0], views[1], ...views.slice(4)] as Buffer[];
    expect(checkResponseHead(swapped, 100)).toEqual(
      reference([names[2], names[3], names[0], names[1], ...names.slice(4)] as string[], 100),
    );
    // The last field far away in the same buffer: each on its own rather than one 60 KB span.
    const far = [...views.slice(0, 7), wire.subarray(60_000, 60_000 + (views[7] as Buffer).length)];
    expect(checkResponseHead(far, 100)).toEqual(want);
  });

  it('refuses a head at the header count limit before looking at any header', () => {
    const names = ['A', '1', 'B', '2', 'Content-Length', 'x'];
    expect(checkResponseHead(raw(names), 3)).toEqual({
      ok: false,
      problem: { code: 'bad_response', detail: 'header count limit' },
    });
    expect(checkResponseHead(raw(names), 3)).toEqual(reference(names, 3));
    expect(checkResponseHead(raw(names), 4)).toEqual(reference(names, 4));
  });
});
