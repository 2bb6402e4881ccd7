import {
  type ClientAddress,
  type Config,
  type ConfigInput,
  compilePolicy,
  configSchema,
  type Decision,
  PolicyCompileError,
  parseProxyTarget,
  validatePolicy,
} from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const policyOf = (input: Omit<ConfigInput, 'listen'>) =>
  compilePolicy(configSchema.parse({ listen: ['lxdbr0:3128'], ...input }));

/** The seed squid.conf, by hand: localnet fe80::/10, Safe_ports 80 443, SSL_ports 443, two dstdomain -n names. */
const SEED = policyOf({
  clients: ['fe80::/10'],
  ports: [80, 443],
  connect_ports: [443],
  allow: ['archive.ubuntu.com', 'security.ubuntu.com'],
});

const LXD: ClientAddress = { address: 'fe80::2', zone: 'lxdbr0' };

/** What `cuttle check [--client C] URL` or `... CONNECT host:port` decides. */
function check(target: string, client?: ClientAddress | string, policy = SEED): Decision {
  const connect = target.startsWith('CONNECT ');
  const method = connect ? 'CONNECT' : 'GET';
  const t = parseProxyTarget(method, connect ? target.slice(8) : target, { allowNonAscii: true });
  if (!t.ok) throw new Error(`${target}: ${t.detail}`);
  const c = typeof client === 'string' ? { address: client } : client;
  return policy.decide({ client: c, method, host: t.host, port: t.port });
}

describe('issue 2 acceptance rows on the seed policy', () => {
  it.each([
    ['http://archive.ubuntu.com/', LXD, 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['http://archive.ubuntu.com/', 'fe80::2%lxdbr0', 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['http://archive.ubuntu.com/', '::1', 'deny', 'client_denied', null],
    ['http://ARCHIVE.ubuntu.com./', LXD, 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['http://archive.ubuntu.com:8080/', LXD, 'deny', 'port_denied', null],
    ['CONNECT archive.ubuntu.com:443', LXD, 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['CONNECT archive.ubuntu.com:80', LXD, 'deny', 'connect_port_denied', null],
    ['http://evil.com/', LXD, 'deny', 'not_allowlisted', null],
    ['http://archive.ubuntu.com.evil.com/', LXD, 'deny', 'not_allowlisted', null],
    ['http://2130706433/', LXD, 'deny', 'ip_literal', null],
    // the same without --client: client rules skipped
    ['http://archive.ubuntu.com/', undefined, 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['http://2130706433/', undefined, 'deny', 'ip_literal', null],
  ] as const)('%s from %j -> %s %s', (target, client, verdict, reason, rule) => {
    expect(check(target, client)).toMatchObject({ verdict, reason, rule });
  });
});

describe('hostile destinations on the seed policy', () => {
  it.each([
    ['http://security.ubuntu.com/', 'allow', 'allowlisted', 'security.ubuntu.com'],
    ['http://ubuntu.com/', 'deny', 'not_allowlisted', 'ubuntu.com'],
    ['http://x.archive.ubuntu.com/', 'deny', 'not_allowlisted', 'x.archive.ubuntu.com'],
    ['http://archive.ubuntu.com../', 'deny', 'invalid_host', 'archive.ubuntu.com..'],
    ['http://\uff41rchive.ubuntu.com/', 'allow', 'allowlisted', 'archive.ubuntu.com'],
    ['http://\u0430rchive.ubuntu.com/', 'deny', 'not_allowlisted', 'xn--rchive-2nf.ubuntu.com'],
    ['http://xn--rchive-2ya.ubuntu.com/', 'deny', 'not_allowlisted', 'xn--rchive-2ya.ubuntu.com'],
    ['http://127.0.0.1/', 'deny', 'ip_literal', '127.0.0.1'],
    ['http://0x7f.1/', 'deny', 'ip_literal', '127.0.0.1'],
    ['http://0177.0.0.1/', 'deny', 'ip_literal', '127.0.0.1'],
    ['http://127.1/', 'deny', 'ip_literal', '127.0.0.1'],
    ['http://[::1]/', 'deny', 'ip_literal', '::1'],
    ['http://[::ffff:127.0.0.1]/', 'deny', 'ip_literal', '::ffff:127.0.0.1'],
    ['http://[::ffff:7f00:1]/', 'deny', 'ip_literal', '::ffff:127.0.0.1'],
    ['http://[::127.0.0.1]/', 'deny', 'ip_literal', '::7f00:1'],
    ['http://[fe80::1%25eth0]/', 'deny', 'ip_literal', 'fe80::1'],
    ['http://1.2.3.4.5/', 'deny', 'invalid_host', '1.2.3.4.5'],
    ['http://0x/', 'deny', 'invalid_host', '0x'],
    ['http://999.1.1.1/', 'deny', 'invalid_host', '999.1.1.1'],
    ['http://a_b.ubuntu.com/', 'deny', 'not_allowlisted', 'a_b.ubuntu.com'],
    ['CONNECT [::1]:443', 'deny', 'ip_literal', '::1'],
    ['CONNECT 2130706433:443', 'deny', 'ip_literal', '127.0.0.1'],
  ] as const)('%s -> %s %s (host %s)', (target, verdict, reason, host) => {
    expect(check(target, LXD)).toMatchObject({ verdict, reason, host });
  });
});

describe('decision order: client -> method -> port -> host -> rules -> IP literal -> allow', () => {
  const P = policyOf({
    clients: ['fe80::/10%lxdbr0', '127.0.0.0/8'],
    ports: [80, 443],
    connect_ports: [443],
    allow: ['.ubuntu.com', 'ec2.*.amazonaws.com'],
    allow_ips: ['192.0.2.0/24', '2001:db8::/32'],
    rules: [
      { name: 'no-private-mirror', action: 'deny', domains: ['private.ubuntu.com'] },
      { action: 'allow', clients: ['fe80::10/128%lxdbr0'], domains: ['.mirror.test'] },
      { action: 'allow', dst: ['198.51.100.7'], ports: [443] },
      { action: 'deny', methods: ['DELETE'] },
      { action: 'allow', not_domains: ['.evil.example'], methods: ['OPTIONS'] },
    ],
  });
  const lxd = (address: string) => ({ address, zone: 'lxdbr0' });
  it.each([
    // client: zone must match a zoned range; IPv4-mapped clients compare as IPv4
    [lxd('fe80::2'), 'GET', 'archive.ubuntu.com', 80, 'allow', 'allowlisted', '.ubuntu.com'],
    [{ address: 'fe80::2', zone: 'eth1' }, 'GET', 'archive.ubuntu.com', 80, 'deny', 'client_denied', null],
    [{ address: 'fe80::2%eth1' }, 'GET', 'archive.ubuntu.com', 80, 'deny', 'client_denied', null],
    [{ address: 'fe80::2' }, 'GET', 'archive.ubuntu.com', 80, 'deny', 'client_denied', null],
    [{ address: '::ffff:127.0.0.1' }, 'GET', 'archive.ubuntu.com', 80, 'allow', 'allowlisted', '.ubuntu.com'],
    [{ address: '127.0.0.1' }, 'GET', 'archive.ubuntu.com', 80, 'allow', 'allowlisted', '.ubuntu.com'],
    [{ address: '::ffff:10.0.0.1' }, 'GET', 'archive.ubuntu.com', 80, 'deny', 'client_denied', null],
    [{ address: 'garbage' }, 'GET', 'archive.ubuntu.com', 80, 'deny', 'client_denied', null],
    // client before method before port before host
    [{ address: '::1' }, 'TRACE', '..', 1, 'deny', 'client_denied', null],
    [lxd('fe80::2'), 'TRACE', '..', 1, 'deny', 'method_denied', null],
    [lxd('fe80::2'), 'get', 'archive.ubuntu.com', 80, 'deny', 'method_denied', null],
    [lxd('fe80::2'), 'GET', '..', 1, 'deny', 'port_denied', null],
    [lxd('fe80::2'), 'GET', '..', 80, 'deny', 'invalid_host', null],
    [lxd('fe80::2'), 'GET', 'archive.ubuntu.com', 0, 'deny', 'port_denied', null],
    [lxd('fe80::2'), 'GET', 'archive.ubuntu.com', 80.5, 'deny', 'port_denied', null],
    [lxd('fe80::2'), 'CONNECT', 'archive.ubuntu.com', 80, 'deny', 'connect_port_denied', null],
    [lxd('fe80::2'), 'CONNECT', 'archive.ubuntu.com', 443, 'allow', 'allowlisted', '.ubuntu.com'],
    // rules: first match, named or indexed
    [lxd('fe80::2'), 'GET', 'private.ubuntu.com', 80, 'deny', 'rule_denied', 'no-private-mirror'],
    [lxd('fe80::2'), 'GET', 'x.private.ubuntu.com', 80, 'allow', 'allowlisted', '.ubuntu.com'],
    [lxd('fe80::10'), 'GET', 'deb.mirror.test', 80, 'allow', 'rule_allowed', 'rules[1]'],
    [lxd('fe80::11'), 'GET', 'deb.mirror.test', 80, 'deny', 'not_allowlisted', null],
    [lxd('fe80::2'), 'GET', '198.51.100.7', 443, 'allow', 'rule_allowed', 'rules[2]'],
    [lxd('fe80::2'), 'GET', '198.51.100.7', 80, 'deny', 'ip_literal', null],
    [lxd('fe80::2'), 'DELETE', 'archive.ubuntu.com', 80, 'deny', 'rule_denied', 'rules[3]'],
    [lxd('fe80::2'), 'OPTIONS', 'anything.example', 80, 'allow', 'rule_allowed', 'rules[4]'],
    [lxd('fe80::2'), 'OPTIONS', 'a.evil.example', 80, 'deny', 'not_allowlisted', null],
    // an allow rule without dst never lets an IP literal through, even when its conditions hold
    [lxd('fe80::2'), 'OPTIONS', '203.0.113.9', 80, 'deny', 'ip_literal', null],
    // IP literals: allow_ips only; domain entries never match them
    [lxd('fe80::2'), 'GET', '192.0.2.1', 80, 'allow', 'ip_allowed', '192.0.2.0/24'],
    [lxd('fe80::2'), 'GET', '0xc0000201', 80, 'allow', 'ip_allowed', '192.0.2.0/24'],
    [lxd('fe80::2'), 'GET', '[::ffff:192.0.2.1]', 80, 'allow', 'ip_allowed', '192.0.2.0/24'],
    [lxd('fe80::2'), 'GET', '[2001:db8::1]', 80, 'allow', 'ip_allowed', '2001:db8::/32'],
    [lxd('fe80::2'), 'GET', '192.0.3.1', 80, 'deny', 'ip_literal', null],
    // globs
    [
      lxd('fe80::2'),
      'GET',
      'ec2.eu-west-1.amazonaws.com',
      443,
      'allow',
      'allowlisted',
      'ec2.*.amazonaws.com',
    ],
    [lxd('fe80::2'), 'GET', 'ec2.a.b.amazonaws.com', 443, 'deny', 'not_allowlisted', null],
  ] as const)('%j %s %s:%s -> %s %s %s', (client, method, host, port, verdict, reason, rule) => {
    expect(P.decide({ client, method, host, port })).toMatchObject({ verdict, reason, rule });
  });

  it('skips client conditions, top-level and in rules, when no client is given', () => {
    expect(P.decide({ method: 'GET', host: 'deb.mirror.test', port: 80 })).toMatchObject({
      verdict: 'allow',
      rule: 'rules[1]',
    });
  });
});

describe('compile errors', () => {
  it('lists every invalid entry with its key path', () => {
    // The schema refuses these too (the same validators); the compiler is asked directly, past the schema.
    const config = {
      ...configSchema.parse({ listen: ['[::1]:3128'] }),
      clients: ['fe80::/10', 'nonsense'],
      allow: ['ok.example', 'a..b', '127.0.0.1'],
      allow_ips: ['10.0.0.1/8'],
      rules: [
        { action: 'deny', domains: ['ok.example'] },
        { action: 'allow', dst: ['x'], not_clients: ['::1/200'] },
      ],
      destinations: { allow_ranges: ['::1', 'bad'] },
    } as unknown as Config;
    let error: unknown;
    try {
      compilePolicy(config);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyCompileError);
    const e = error as PolicyCompileError;
    expect(e.code).toBe('CUTTLE_ERR_POLICY');
    expect(e.issues.map((i) => i.path)).toEqual([
      ['clients', 1],
      ['allow', 1],
      ['allow', 2],
      ['allow_ips', 0],
      ['rules', 1, 'not_clients', 0],
      ['rules', 1, 'dst', 0],
      ['destinations', 'allow_ranges', 1],
    ]);
    expect(validatePolicy(config)).toHaveLength(7);
  });
});
