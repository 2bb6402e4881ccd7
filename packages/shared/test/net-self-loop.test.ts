import { isSelfLoop, type SelfEndpoint } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const LOCAL = ['127.0.0.1', '::1', '10.1.2.3', 'fe80::1%lxdbr0', '2001:db8::5'];

const FIXED_V4: SelfEndpoint = { address: '127.0.0.1', port: 3128, wide: false };
const FIXED_V6: SelfEndpoint = { address: '::1', port: 3128, wide: false };
const IFACE: SelfEndpoint = { address: 'fe80::1', port: 3128, wide: true };
const WILD_V4: SelfEndpoint = { address: '0.0.0.0', port: 3128, wide: false };
const WILD_V6: SelfEndpoint = { address: '::', port: 3128, wide: false };
const METRICS: SelfEndpoint = { address: '10.1.2.3', port: 9090, wide: false };

describe('isSelfLoop', () => {
  it.each<[string, SelfEndpoint[], string, number, boolean]>([
    ['fixed v4: the bound address', [FIXED_V4], '127.0.0.1', 3128, true],
    ['fixed v4: v4-mapped form', [FIXED_V4], '::ffff:127.0.0.1', 3128, true],
    ['fixed v4: 0.0.0.0 connects to loopback', [FIXED_V4], '0.0.0.0', 3128, true],
    ['fixed v4: another port', [FIXED_V4], '127.0.0.1', 3129, false],
    ['fixed v4: another loopback address is another socket', [FIXED_V4], '127.0.0.2', 3128, false],
    ['fixed v4: not the v6 loopback', [FIXED_V4], '::1', 3128, false],
    ['fixed v6: ::1', [FIXED_V6], '::1', 3128, true],
    ['fixed v6: [::1] bracketed', [FIXED_V6], '[::1]', 3128, true],
    ['fixed v6: :: connects to ::1', [FIXED_V6], '::', 3128, true],
    ['fixed v6: long form', [FIXED_V6], '0:0:0:0:0:0:0:1', 3128, true],
    ['interface: its own address with zone', [IFACE], 'fe80::1%lxdbr0', 3128, true],
    ['interface: every local v6 address', [IFACE], '2001:db8::5', 3128, true],
    ['interface: ::1', [IFACE], '::1', 3128, true],
    ['interface: a remote v6 address', [IFACE], '2001:db8::6', 3128, false],
    ['interface: a local v4 address is another family', [IFACE], '10.1.2.3', 3128, false],
    ['wildcard v4: any of 127/8', [WILD_V4], '127.3.4.5', 3128, true],
    ['wildcard v4: a local interface address', [WILD_V4], '10.1.2.3', 3128, true],
    ['wildcard v4: its v4-mapped form', [WILD_V4], '::ffff:10.1.2.3', 3128, true],
    ['wildcard v4: a remote address', [WILD_V4], '10.1.2.4', 3128, false],
    ['wildcard v6 is dual-stack: v4 loopback', [WILD_V6], '127.0.0.1', 3128, true],
    ['wildcard v6: local v6', [WILD_V6], '2001:db8::5', 3128, true],
    ['metrics listener', [FIXED_V4, METRICS], '10.1.2.3', 9090, true],
    ['metrics port on the proxy address is no listener', [FIXED_V4, METRICS], '127.0.0.1', 9090, false],
    ['unparsable destination', [FIXED_V4], 'not-an-ip', 3128, false],
  ])('%s', (_name, endpoints, address, port, want) => {
    expect(isSelfLoop(address, port, endpoints, LOCAL)).toBe(want);
  });
});
