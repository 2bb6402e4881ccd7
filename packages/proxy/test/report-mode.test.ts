/**
 * Report mode. The table drives the report-mode policy directly (every row one decision); the daemon tests show
 * what the outside sees: would-be-denied traffic reaches the origin and is logged as `would_deny` with its reason
 * and rule, while the private-address guard still refuses (its canary stays silent).
 */

import { compilePolicy, configSchema, type DecisionInput } from '@cuttle/shared';
import {
  type Canary,
  type Origin,
  type ProxyProcess,
  proxyGet,
  startCanary,
  startOrigin,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLIENT = { address: 'fe80::2', zone: 'lxdbr0' };
const OUTSIDER = { address: '192.0.2.7' };
const get = (host: string, port = 80, client: DecisionInput['client'] = CLIENT): DecisionInput => ({
  client,
  method: 'GET',
  host,
  port,
});

const BASE = { listen: ['127.0.0.1:3128'], allow: ['.ok.test'] };
const RULES = [
  { name: 'no-beta', action: 'deny', domains: ['beta.ok.test'], mode: 'report' },
  { name: 'no-gamma', action: 'deny', domains: ['gamma.ok.test'] },
  { name: 'no-delta', action: 'deny', domains: ['delta.ok.test'], mode: 'enforce' },
];

const ROWS: {
  name: string;
  config: Record<string, unknown>;
  input: DecisionInput;
  want: [verdict: 'allow' | 'deny' | 'would_deny', reason: string, rule: string | null];
}[] = [
  {
    name: 'enforce: allowlisted',
    config: BASE,
    input: get('a.ok.test'),
    want: ['allow', 'allowlisted', '.ok.test'],
  },
  {
    name: 'enforce: not allowlisted',
    config: BASE,
    input: get('x.test'),
    want: ['deny', 'not_allowlisted', null],
  },
  {
    name: 'report: not allowlisted goes through',
    config: { ...BASE, mode: 'report' },
    input: get('x.test'),
    want: ['would_deny', 'not_allowlisted', null],
  },
  {
    name: 'report: port',
    config: { ...BASE, mode: 'report' },
    input: get('a.ok.test', 22),
    want: ['would_deny', 'port_denied', null],
  },
  {
    name: 'report: CONNECT port',
    config: { ...BASE, mode: 'report' },
    input: { client: CLIENT, method: 'CONNECT', host: 'a.ok.test', port: 22 },
    want: ['would_deny', 'connect_port_denied', null],
  },
  {
    name: 'report: IP literal',
    config: { ...BASE, mode: 'report' },
    input: get('192.0.2.1'),
    want: ['would_deny', 'ip_literal', null],
  },
  {
    name: 'report: client still enforced',
    config: { ...BASE, mode: 'report' },
    input: get('a.ok.test', 80, OUTSIDER),
    want: ['deny', 'client_denied', null],
  },
  {
    name: 'report: method still enforced',
    config: { ...BASE, mode: 'report' },
    input: { client: CLIENT, method: 'TRACE', host: 'a.ok.test', port: 80 },
    want: ['deny', 'method_denied', null],
  },
  {
    name: 'report: invalid host still enforced',
    config: { ...BASE, mode: 'report' },
    input: get('bad..host'),
    want: ['deny', 'invalid_host', null],
  },
  {
    name: 'report rule matches: would_deny with its name',
    config: { ...BASE, rules: RULES },
    input: get('beta.ok.test'),
    want: ['would_deny', 'rule_denied', 'no-beta'],
  },
  {
    name: 'enforced rule after a report rule',
    config: { ...BASE, rules: RULES },
    input: get('gamma.ok.test'),
    want: ['deny', 'rule_denied', 'no-gamma'],
  },
  {
    name: 'a report rule never loosens: not allowlisted stays denied',
    config: { ...BASE, allow: ['other.test'], rules: RULES },
    input: get('beta.ok.test'),
    want: ['deny', 'not_allowlisted', null],
  },
  {
    name: 'report rule not matching: plain allow',
    config: { ...BASE, rules: RULES },
    input: get('a.ok.test'),
    want: ['allow', 'allowlisted', '.ok.test'],
  },
  {
    name: 'top-level report, rule without mode: would_deny',
    config: { ...BASE, mode: 'report', rules: RULES },
    input: get('gamma.ok.test'),
    want: ['would_deny', 'rule_denied', 'no-gamma'],
  },
  {
    name: 'top-level report, rule mode enforce: denied',
    config: { ...BASE, mode: 'report', rules: RULES },
    input: get('delta.ok.test'),
    want: ['deny', 'rule_denied', 'no-delta'],
  },
  {
    name: 'unnamed report rule keeps its index label',
    config: {
      ...BASE,
      rules: [
        { action: 'deny', domains: ['x.ok.test'] },
        { action: 'deny', domains: ['y.ok.test'], mode: 'report' },
      ],
    },
    input: get('y.ok.test'),
    want: ['would_deny', 'rule_denied', 'rules[1]'],
  },
];

describe('report mode: decisions', () => {
  it.each(ROWS)('$name', ({ config, input, want }) => {
    // The verdict is the policy's own: `would_deny` is a variant of Decision, not an allow decoded later.
    const d = compilePolicy(configSchema.parse(config)).decide(input);
    const verdict = d.verdict;
    expect([verdict, d.reason, d.rule]).toEqual(want);
  });

  it('refuses mode: report on an allow rule', () => {
    const r = configSchema.safeParse({
      ...BASE,
      rules: [{ action: 'allow', domains: ['a.test'], mode: 'report' }],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['rules', 0, 'mode']);
  });
});

describe('report mode: through the daemon', () => {
  let origin: Origin;
  let canary: Canary;
  let proxy: ProxyProcess;
  let ruled: ProxyProcess;

  beforeAll(async () => {
    origin = await startOrigin();
    canary = await startCanary('127.0.0.2');
    const common = {
      ports: [origin.port, canary.port],
      dns: {
        hosts: {
          'origin.test': ['127.0.0.1'],
          'other.test': ['127.0.0.1'],
          'third.test': ['127.0.0.1'],
          'private.test': ['127.0.0.2'],
        },
      },
      destinations: { allow_ranges: ['127.0.0.1/32'] },
    };
    proxy = await startProxy({ ...common, mode: 'report', allow: ['origin.test'] });
    ruled = await startProxy({
      ...common,
      allow: ['origin.test', 'other.test', 'third.test'],
      rules: [
        { name: 'watch-other', action: 'deny', domains: ['other.test'], mode: 'report' },
        { name: 'block-third', action: 'deny', domains: ['third.test'] },
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await ruled?.close();
    await origin?.close();
    await canary?.close();
  });

  const record = (p: ProxyProcess, path: string) => p.waitForRecord((r) => r.path === path);

  it('lets a not-allowlisted request through and logs it as would_deny', async () => {
    const before = origin.requests.length;
    const res = await proxyGet(proxy.port, `http://other.test:${origin.port}/report-1`);
    expect(res.status).toBe(200);
    expect(origin.requests.slice(before).map((r) => r.url)).toEqual(['/report-1']);
    expect(await record(proxy, '/report-1')).toMatchObject({
      verdict: 'would_deny',
      reason: 'not_allowlisted',
      rule: null,
      status: 200,
    });
  });

  it('still refuses a private address (the guard is not part of report mode)', async () => {
    const res = await proxyGet(proxy.port, `http://private.test:${canary.port}/report-2`);
    expect(res.status).toBe(403);
    expect(res.headers['x-cuttle-deny']).toBe('private_address');
    expect(canary.connections).toBe(0);
    expect(await record(proxy, '/report-2')).toMatchObject({ verdict: 'deny', reason: 'private_address' });
  });

  it('a report-mode rule lets its match through, an enforcing rule denies', async () => {
    const ok = await proxyGet(ruled.port, `http://other.test:${origin.port}/report-3`);
    expect(ok.status).toBe(200);
    expect(await record(ruled, '/report-3')).toMatchObject({
      verdict: 'would_deny',
      reason: 'rule_denied',
      rule: 'watch-other',
    });
    const denied = await proxyGet(ruled.port, `http://third.test:${origin.port}/report-4`);
    expect(denied.status).toBe(403);
    expect(await record(ruled, '/report-4')).toMatchObject({
      verdict: 'deny',
      reason: 'rule_denied',
      rule: 'block-third',
    });
    const plain = await proxyGet(ruled.port, `http://origin.test:${origin.port}/report-5`);
    expect(plain.status).toBe(200);
    expect(await record(ruled, '/report-5')).toMatchObject({ verdict: 'allow', reason: 'allowlisted' });
  });
});
