import { compilePolicy, configSchema, normalizeHost, parseProxyTarget } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test-support/seeded-random.js';

// Bounded and seeded: the same 2000 cases every run, so a failure reproduces.
const CASES = 2000;

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyz0123456789',
  ...'..--_',
  ...'ABCXYZ',
  ...'%@:[]/\\?#x ',
  '\uff41',
  '\u3002',
  '\u00e4',
  '\u00df',
  '\u2100',
  '\u0000',
  'xn--',
  'ubuntu',
  'com',
  '0x',
  '127',
];

const POLICY = compilePolicy(
  configSchema.parse({
    listen: ['[::1]:3128'],
    clients: ['fe80::/10'],
    allow: ['archive.ubuntu.com', '.mirror.test', 'ec2.*.amazonaws.com', '**.cdn.example'],
    allow_ips: ['192.0.2.0/24'],
  }),
);

describe('policy fuzz (bounded)', () => {
  it(`decide and parseProxyTarget never throw on ${CASES} random hosts`, () => {
    const r = seededRandom(42);
    for (let i = 0; i < CASES; i++) {
      const len = 1 + Math.floor(r() * 24);
      let host = '';
      for (let j = 0; j < len; j++) host += ALPHABET[Math.floor(r() * ALPHABET.length)];
      const d = POLICY.decide({ client: { address: 'fe80::2', zone: 'x' }, method: 'GET', host, port: 80 });
      expect(['allow', 'deny']).toContain(d.verdict);
      parseProxyTarget('GET', `http://${host}/`);
      parseProxyTarget('CONNECT', `${host}:443`);
      const n = normalizeHost(host);
      if (n.kind === 'name') expect(n.host).toMatch(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/);
    }
  });

  it('case, trailing-dot and fullwidth variants of a name get the same decision', () => {
    const r = seededRandom(7);
    const labels = [
      'archive',
      'ubuntu',
      'com',
      'debian',
      'org',
      'ec2',
      'eu',
      'amazonaws',
      'cdn',
      'example',
      'evil',
    ];
    const fullwidth = (s: string) =>
      [...s]
        .map((c) => (c >= 'a' && c <= 'z' && r() < 0.3 ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
        .join('');
    for (let i = 0; i < CASES; i++) {
      const count = 1 + Math.floor(r() * 4);
      const parts: string[] = [];
      for (let j = 0; j < count; j++) parts.push(labels[Math.floor(r() * labels.length)] as string);
      const name = parts.join('.');
      const base = POLICY.decide({ method: 'GET', host: name, port: 80 });
      const variants = [
        name.toUpperCase(),
        [...name].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join(''),
        `${name}.`,
        fullwidth(name),
        `${name.toUpperCase()}.`,
      ];
      for (const v of variants) {
        const d = POLICY.decide({ method: 'GET', host: v, port: 80 });
        expect({ v, verdict: d.verdict, reason: d.reason, host: d.host }).toEqual({
          v,
          verdict: base.verdict,
          reason: base.reason,
          host: base.host,
        });
      }
    }
  });
});
