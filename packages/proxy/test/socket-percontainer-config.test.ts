/**
 * `identity.socket_dir` as the config loader sees it: an absolute directory short enough that DIR/NAME.sock fits
 * sockaddr_un for any instance name (63 bytes); anything else refused with file:line:col and the key.
 */
import { loadConfig } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const L = 'listen: ["127.0.0.1:3128"]\n';

describe('identity.socket_dir', () => {
  it('defaults to null (no per-instance sockets)', () => {
    expect(loadConfig(L, 'c.yaml').identity.socket_dir).toBeNull();
  });

  it.each(['/run/cuttle/instances', '/run/cuttle/instances/', `/${'d'.repeat(37)}`])('accepts %s', (dir) => {
    expect(
      loadConfig(`${L}identity: {map_file: /var/lib/cuttle/map.jsonl, socket_dir: "${dir}"}\n`, 'c.yaml')
        .identity.socket_dir,
    ).toBe(dir);
  });

  it.each([
    ['run/cuttle', /c\.yaml:2:\d+: identity\.socket_dir: .*absolute directory path/],
    ['./x', /c\.yaml:2:\d+: identity\.socket_dir: .*absolute directory path/],
    ['', /c\.yaml:2:\d+: identity\.socket_dir/],
    [`/${'d'.repeat(38)}`, /c\.yaml:2:\d+: identity\.socket_dir: .*at most 38 bytes/],
  ])('refuses %j with the position and key', (dir, re) => {
    expect(() => loadConfig(`${L}identity: {socket_dir: "${dir}"}\n`, 'c.yaml')).toThrow(re);
  });
});
