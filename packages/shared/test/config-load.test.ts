import { type ConfigError, loadConfig, parseListenAddress } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { configErrorsOf } from './config-errors.js';

const L = 'listen: ["[::1]:3128"]\n';

describe('loadConfig errors name file:line:col and key', () => {
  const rows: [string, string, string[]][] = [
    [
      'YAML syntax',
      'listen: [\n',
      ['c.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ],
    ['duplicate key', `${L}ports: [80]\nports: [443]\n`, ['c.yaml:3:1: ports: duplicate key']],
    ['nested duplicate key', `${L}log:\n  file: a\n  file: b\n`, ['c.yaml:4:3: log.file: duplicate key']],
    ['unknown top-level key', `${L}alow: [a.com]\n`, ['c.yaml:2:1: alow: unknown key "alow"']],
    [
      'unknown nested key',
      `${L}timeouts:\n  header: 5\n`,
      ['c.yaml:3:3: timeouts.header: unknown key "header"'],
    ],
    [
      'wrong type',
      `${L}timeouts:\n  header_ms: "10s"\n`,
      ['c.yaml:3:14: timeouts.header_ms: expected number, got string "10s"'],
    ],
    [
      'out of range',
      `${L}ports: [80, 70000]\n`,
      ['c.yaml:2:13: ports[1]: Too big: expected number to be <=65535'],
    ],
    ['missing listen', 'ports: [80]\n', ['c.yaml:1:1: listen: required key is missing']],
    ['empty file', '', ['c.yaml:1:1: the config is empty (at least `listen` is required)']],
    [
      'list expected',
      'listen: "[::1]:3128"\n',
      ['c.yaml:1:9: listen: expected a list, got string "[::1]:3128"'],
    ],
    [
      'wildcard listen',
      'listen:\n  - "0.0.0.0:3128"\n',
      [
        'c.yaml:2:5: listen[0]: "0.0.0.0:3128": a wildcard (every address) is refused: name an address or an interface',
      ],
    ],
    [
      'bad enum',
      `${L}log: {format: xml}\n`,
      ['c.yaml:2:15: log.format: Invalid option: expected one of "json"|"squid"'],
    ],
    [
      'rule missing action',
      `${L}rules:\n  - ports: [80]\n`,
      ['c.yaml:3:5: rules[0].action: required key is missing'],
    ],
    [
      'rule unknown key',
      `${L}rules:\n  - {action: allow, port: [80]}\n`,
      ['c.yaml:3:21: rules[0].port: unknown key "port"'],
    ],
    [
      'dns.hosts address',
      `${L}dns:\n  hosts:\n    a.test: ["nope"]\n`,
      ['c.yaml:4:14: dns.hosts["a.test"][0]: "nope" is not an IP address'],
    ],
    [
      'bad CIDR (policy)',
      `${L}clients: ["fe80::/10", "10.0.0.1/8"]\n`,
      ['c.yaml:2:24: clients[1]: "10.0.0.1/8" has host bits set'],
    ],
    [
      'bad pattern (policy)',
      `${L}allow:\n  - ok.test\n  - "a..b"\n`,
      ['c.yaml:4:5: allow[1]: invalid domain "a..b" (empty_label)'],
    ],
    [
      'IP literal in allow (policy)',
      `${L}allow: ["127.0.0.1"]\n`,
      ['c.yaml:2:9: allow[0]: "127.0.0.1" is an IP literal: list addresses in allow_ips or a rule\'s dst'],
    ],
    [
      'every schema issue at once, in file order',
      'foo: 1\nlisten: ["[::]:3128"]\nmetrics: {listen: "*:9128"}\n',
      [
        'c.yaml:1:1: foo: unknown key "foo"',
        'c.yaml:2:10: listen[0]: "[::]:3128": a wildcard (every address) is refused: name an address or an interface',
        'c.yaml:3:19: metrics.listen: "*:9128": a wildcard (every address) is refused: name an address or an interface',
      ],
    ],
  ];
  it.each(rows)('%s', (_name, text, expected) => {
    expect(configErrorsOf(text)).toEqual(expected);
  });

  it('is a ConfigError with code, issues and cause', () => {
    try {
      loadConfig(`${L}ports: ["x"]\n`, 'c.yaml');
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.name).toBe('ConfigError');
      expect(e.code).toBe('CUTTLE_ERR_CONFIG');
      expect(e.issues).toEqual([
        { file: 'c.yaml', line: 2, col: 9, key: 'ports[0]', message: 'expected number, got string "x"' },
      ]);
      expect(e.cause).toBeDefined();
    }
  });
});

describe('loadConfig results', () => {
  it('applies defaults and freezes the result deeply', () => {
    const c = loadConfig(L, 'c.yaml');
    expect(c.clients).toEqual(['fe80::/10']);
    expect(c.timeouts.header_ms).toBe(10_000);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.timeouts)).toBe(true);
    expect(Object.isFrozen(c.ports)).toBe(true);
    expect(() => (c.ports as number[]).push(1)).toThrow();
  });

  it('accepts the contract keys', () => {
    const c = loadConfig(
      [
        'listen: ["lxdbr0:3128", "[fe80::1%lxdbr0]:3128", "127.0.0.1:3128", "[::1]:3128"]',
        'clients: ["fe80::/10"]',
        'ports: [80, 443]',
        'connect_ports: [443]',
        'allow: [archive.ubuntu.com, .ubuntu.com, "ec2.*.amazonaws.com"]',
        'destinations: {allow_ranges: []}',
        'dns: {hosts: {"mirror.test": ["127.0.0.1"]}}',
        'log: {file: stdout, format: json}',
        'metrics: {listen: "[::1]:9128"}',
      ].join('\n'),
      'c.yaml',
    );
    expect(c.listen).toHaveLength(4);
    expect(c.dns.hosts['mirror.test']).toEqual(['127.0.0.1']);
  });
});

describe('parseListenAddress', () => {
  const ok: [string, object][] = [
    ['lxdbr0:3128', { kind: 'interface', iface: 'lxdbr0', port: 3128 }],
    ['[fe80::1%lxdbr0]:3128', { kind: 'address', family: 6, host: 'fe80::1', zone: 'lxdbr0', port: 3128 }],
    ['127.0.0.1:3128', { kind: 'address', family: 4, host: '127.0.0.1', port: 3128 }],
    ['[::1]:3128', { kind: 'address', family: 6, host: '::1', zone: undefined, port: 3128 }],
    ['[::1]:0', { kind: 'address', port: 0 }],
    ['unix:/run/cuttle.sock', { kind: 'unix', path: '/run/cuttle.sock' }],
  ];
  it.each(ok)('parses %s', (text, expected) => {
    expect(parseListenAddress(text)).toMatchObject(expected);
  });

  const bad: [string, string][] = [
    ['0.0.0.0:3128', 'wildcard'],
    ['[::]:3128', 'wildcard'],
    ['[0:0:0:0:0:0:0:0]:3128', 'wildcard'],
    ['[::ffff:0.0.0.0]:3128', 'wildcard'],
    [':3128', 'wildcard'],
    ['*:3128', 'wildcard'],
    ['3128', 'expected HOST:PORT'],
    ['::1:3128', 'needs brackets'],
    ['[::1:3128', 'unclosed bracket'],
    ['[fe80::1%bad/zone]:3128', 'invalid zone'],
    ['127.1:3128', 'not a dotted-quad'],
    ['[::1]:65536', 'port must be'],
    ['[::1]:03128', 'port must be'],
    ['a/b:3128', 'not an IP address or interface name'],
    ['unix:', 'expected unix:/path'],
  ];
  it.each(bad)('refuses %s', (text, why) => {
    expect(() => parseListenAddress(text)).toThrow(why);
  });
});

describe('identity.socket_dir', () => {
  it('is refused without identity.map_file, naming the key and its line', () => {
    const text = 'listen: ["[::1]:3128"]\nidentity:\n  socket_dir: /run/cuttle/i\n';
    expect(() => loadConfig(text, 'c.yaml')).toThrow(
      /c\.yaml:3:\d+: identity\.socket_dir: needs identity\.map_file/,
    );
  });
});

describe('connect.http_ports', () => {
  it('is refused for a port not in connect_ports, naming the entry', () => {
    const text = 'listen: ["[::1]:3128"]\nconnect_ports: [443]\nconnect:\n  http_ports: [80]\n';
    expect(() => loadConfig(text, 'c.yaml')).toThrow(
      /c\.yaml:4:\d+: connect\.http_ports\[0\]: port 80 is not in connect_ports/,
    );
  });
  it('is accepted when the port is in connect_ports too', () => {
    const text = 'listen: ["[::1]:3128"]\nconnect_ports: [443, 80]\nconnect:\n  http_ports: [80]\n';
    expect(loadConfig(text, 'c.yaml').connect.http_ports).toEqual([80]);
  });
});
