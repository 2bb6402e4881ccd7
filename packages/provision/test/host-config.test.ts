import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { loadHostConfig } from '../src/host-config/load-host-config.js';
import { renderHostReference } from '../src/host-config/reference.js';
import { hostConfigSchema } from '../src/host-config/schema.js';
import { generatedConfigChecks, hostKeyFor, parseKeyPath } from '../src/render/proxy-config.js';

const repoFile = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

describe('host.yaml', () => {
  it("an empty file means the seed's host", () => {
    const c = loadHostConfig('', 'host.yaml');
    expect(c.pool).toMatchObject({ name: 'lxd', driver: 'zfs', source: '/dev/system/lxd-zfs' });
    expect(c.bridge).toMatchObject({ name: 'lxdbr0', address: 'fe80::1/64' });
    expect(c.profile.name).toBe('default');
    expect(c.proxy.port).toBe(3128);
    expect(Object.isFrozen(c.pool)).toBe(true);
  });

  it('config/host.yaml is valid and equals the defaults', () => {
    const c = loadHostConfig(readFileSync(repoFile('config/host.yaml'), 'utf8'), 'config/host.yaml');
    expect(c).toEqual(loadHostConfig('', 'x'));
  });

  const bad: { name: string; text: string; error: string }[] = [
    {
      name: 'unknown key',
      text: 'bridge:\n  nmae: br\n',
      error: 'host.yaml:2:3: bridge.nmae: unknown key "nmae"',
    },
    { name: 'wrong driver', text: 'pool:\n  driver: lvm\n', error: 'host.yaml:2:11: pool.driver:' },
    {
      name: 'ipv6.address none is refused',
      text: 'bridge:\n  address: none\n',
      error: 'host.yaml:2:12: bridge.address: a link-local address with /64',
    },
    {
      name: 'bad MAC',
      text: 'bridge:\n  hwaddr: 00:16\n',
      error: 'host.yaml:2:11: bridge.hwaddr: a MAC address',
    },
    { name: 'port out of range', text: 'proxy:\n  port: 70000\n', error: 'host.yaml:2:9: proxy.port:' },
    {
      name: 'relative node path',
      text: 'proxy:\n  node: node\n',
      error: 'host.yaml:2:9: proxy.node: must be an absolute path',
    },
    { name: 'duplicate key', text: 'pool:\n  name: a\n  name: b\n', error: 'host.yaml:3:3: duplicate key' },
    { name: 'YAML syntax', text: 'pool: [\n', error: 'host.yaml:' },
    { name: 'unknown mode', text: 'mode: tunnel\n', error: 'host.yaml:1:7: mode:' },
    {
      name: 'a second socket profile with mode: socket',
      text: 'mode: socket\nsocket:\n  profile: other\n',
      error: 'host.yaml:3:12: socket.profile: only with `mode: bridge`',
    },
    {
      name: 'the socket profile is the bridge profile',
      text: 'profile:\n  name: p1\nsocket:\n  profile: p1\n',
      error: 'host.yaml:4:12: socket.profile: `profile.name` is the bridge-mode profile',
    },
    {
      name: 'relative socket path',
      text: 'socket:\n  path: cuttle.sock\n',
      error: 'host.yaml:2:9: socket.path: must be an absolute path',
    },
    {
      name: 'a bridge name longer than a Linux interface name',
      text: 'bridge:\n  name: cuttlebridge0001\n',
      error: 'host.yaml:2:9: bridge.name: at most 15 characters: Linux interface names are limited to 15',
    },
    {
      name: 'a NIC name longer than a Linux interface name',
      text: 'profile:\n  nic: eth0123456789abc\n',
      error: 'host.yaml:2:8: profile.nic: at most 15 characters',
    },
    {
      name: 'socket mode not octal',
      text: 'socket:\n  mode: "0990"\n',
      error: 'host.yaml:2:9: socket.mode: an octal mode',
    },
  ];
  it.each(bad)('$name: a ConfigError with file:line:col and key', ({ text, error }) => {
    let err: unknown;
    try {
      loadHostConfig(text, 'host.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(error);
  });

  it('mode: socket and socket.profile load; bridge stays the default', () => {
    expect(loadHostConfig('', 'h.yaml')).toMatchObject({
      mode: 'bridge',
      socket: { path: '/run/cuttle/cuttle.sock', port: 3128, profile: null },
    });
    expect(loadHostConfig('mode: socket\n', 'h.yaml').mode).toBe('socket');
    expect(loadHostConfig('socket:\n  profile: nonic\n', 'h.yaml').socket.profile).toBe('nonic');
  });

  it('collects every issue at once', () => {
    expect(() => loadHostConfig('pool:\n  driver: x\nbridge:\n  hwaddr: y\n', 'h.yaml')).toThrow(
      /h\.yaml:2:11: pool\.driver.*\n.*h\.yaml:4:11: bridge\.hwaddr/,
    );
  });

  it('a 15-character bridge name is fine', () => {
    expect(loadHostConfig('bridge:\n  name: cuttlebridge01\n', 'h.yaml').bridge.name).toBe('cuttlebridge01');
  });

  it('errors of the generated proxy config point at the host.yaml key that produced them, every one at once', () => {
    const text = [
      'proxy:',
      '  settings:',
      '    dns: {hosts: {a.test: [nonsense]}}',
      '    ports: [0]',
      '    log:',
      '      format: nope',
      '',
    ].join('\n');
    let err: unknown;
    try {
      loadHostConfig(text, 'h.yaml', { check: generatedConfigChecks });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => `${i.line}:${i.col} ${i.key}`)).toEqual([
      '3:28 proxy.settings.dns.hosts["a.test"][0]',
      '4:13 proxy.settings.ports[0]',
      '6:15 proxy.settings.log.format',
    ]);
    const message = (err as Error).message;
    expect(message).toContain(
      '"nonsense" is not an IP address (generated /etc/cuttle/cuttle.yaml: dns.hosts',
    );
    expect(message).not.toMatch(/^\/etc\/cuttle/m);
    // Without the check only host.yaml's own schema applies.
    expect(loadHostConfig(text, 'h.yaml').proxy.settings).toHaveProperty('ports');
  });

  it('a generated key host.yaml did not spell out is reported where it comes from', () => {
    expect(hostKeyFor(loadHostConfig('', 'h.yaml'), ['listen', 0])).toEqual(['bridge', 'name']);
    expect(hostKeyFor(loadHostConfig('socket: {profile: s}\n', 'h.yaml'), ['listen', 1])).toEqual([
      'socket',
      'path',
    ]);
    expect(hostKeyFor(loadHostConfig('', 'h.yaml'), ['allow', 2])).toEqual(['proxy', 'allow', 2]);
    expect(hostKeyFor(loadHostConfig('', 'h.yaml'), ['unix_socket', 'mode'])).toEqual(['socket', 'mode']);
    expect(parseKeyPath('dns.hosts["a.test"][0]')).toEqual(['dns', 'hosts', 'a.test', 0]);
  });

  it('docs/host-reference.md is generated from the schema (`pnpm -s provision reference`)', () => {
    expect(readFileSync(repoFile('docs/host-reference.md'), 'utf8')).toBe(renderHostReference());
  });

  it('every schema key appears in the reference', () => {
    const ref = renderHostReference();
    for (const k of Object.keys(hostConfigSchema.shape)) expect(ref).toContain(`\`${k}`);
  });
});
