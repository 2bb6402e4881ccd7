import { compilePolicy, loadConfig, PortSet, parsePortSpec } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { configErrorsOf } from './config-errors.js';

const L = 'listen: ["[::1]:3128"]\nclients: ["::1"]\nallow: [a.test]\n';

describe('port ranges in ports, connect_ports and rules', () => {
  it('"1025-65535" in ports and connect_ports allows the range and nothing below it', () => {
    const p = compilePolicy(
      loadConfig(`${L}ports: [80, "1025-65535"]\nconnect_ports: ["443-444"]\n`, 'c.yaml'),
    );
    const decide = (method: string, port: number) =>
      p.decide({ client: { address: '::1' }, method, host: 'a.test', port });
    expect([80, 1025, 8080, 65535].map((port) => decide('GET', port).verdict)).toEqual(
      Array(4).fill('allow'),
    );
    expect([decide('GET', 1024).reason, decide('GET', 443).reason]).toEqual(['port_denied', 'port_denied']);
    expect([decide('CONNECT', 443).verdict, decide('CONNECT', 444).verdict]).toEqual(['allow', 'allow']);
    expect(decide('CONNECT', 445).reason).toBe('connect_port_denied');
  });

  it('rules[].ports and not_ports take ranges', () => {
    const p = compilePolicy(
      loadConfig(
        `${L}ports: ["1-65535"]\nrules:\n  - {action: deny, not_ports: [80, "8000-8999"]}\n  - {action: allow, ports: ["8000-8009"]}\n`,
        'c.yaml',
      ),
    );
    const d = (port: number) => p.decide({ client: { address: '::1' }, method: 'GET', host: 'b.test', port });
    expect([d(8000), d(8009)].map((x) => x.reason)).toEqual(['rule_allowed', 'rule_allowed']);
    expect([d(8010), d(80)].map((x) => x.reason)).toEqual(['not_allowlisted', 'not_allowlisted']);
    expect([d(81), d(9000)].map((x) => x.reason)).toEqual(['rule_denied', 'rule_denied']);
  });

  it.each([
    ['ports: ["0-80"]', 'c.yaml:4:9: ports[0]: port range "0-80" is outside 1-65535'],
    ['ports: ["1-65536"]', 'c.yaml:4:9: ports[0]: port range "1-65536" is outside 1-65535'],
    ['ports: ["90-80"]', 'c.yaml:4:9: ports[0]: port range "90-80" is empty (LOW above HIGH)'],
    ['ports: ["80-"]', 'c.yaml:4:9: ports[0]: "80-" is not a port range LOW-HIGH (e.g. "1025-65535")'],
    [
      'connect_ports: [443, "a-b"]',
      'c.yaml:4:22: connect_ports[1]: "a-b" is not a port range LOW-HIGH (e.g. "1025-65535")',
    ],
    [
      'rules: [{action: allow, ports: ["5-1"]}]',
      'c.yaml:4:33: rules[0].ports[0]: port range "5-1" is empty (LOW above HIGH)',
    ],
  ])('refuses %s with its position', (line, message) => {
    expect(configErrorsOf(`${L}${line}\n`)).toEqual([message]);
  });

  it('connect.http_ports must fall inside a connect_ports range', () => {
    expect(() =>
      loadConfig(`${L}connect_ports: ["80-443"]\nconnect:\n  http_ports: [80]\n`, 'c.yaml'),
    ).not.toThrow();
    expect(configErrorsOf(`${L}connect_ports: ["81-443"]\nconnect:\n  http_ports: [80]\n`)).toEqual([
      'c.yaml:6:16: connect.http_ports[0]: port 80 is not in connect_ports, so no CONNECT to it is ever allowed: add it there too',
    ]);
  });

  it('PortSet writes runs back as ranges', () => {
    const s = new PortSet([80, '1025-65535', 81, 443]);
    expect(s.toSpecs()).toEqual(['80-81', 443, '1025-65535']);
    expect(PortSet.all().minus(s).toSpecs()).toEqual(['1-79', '82-442', '444-1024']);
    expect(parsePortSpec(70000)).toBe('port 70000 is not 1-65535');
  });
});
