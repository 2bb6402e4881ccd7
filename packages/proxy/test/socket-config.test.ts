/**
 * `unix:` listen entries and the `unix_socket` key as the config loader sees them: bad entries are refused with
 * file:line:col and the key, before anything is bound.
 */
import { loadConfig, parseListenAddress } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

describe('unix listen entries', () => {
  it.each([
    ['unix:/run/cuttle/blog.sock', '/run/cuttle/blog.sock'],
    [`unix:/${'a'.repeat(106)}`, `/${'a'.repeat(106)}`],
  ])('accepts %s', (text, path) => {
    expect(parseListenAddress(text)).toEqual({ kind: 'unix', path, text });
  });

  it.each([
    ['unix:', 'expected unix:/path'],
    ['unix:blog.sock', 'an absolute path'],
    ['unix:./blog.sock', 'an absolute path'],
    ['unix:/run/cuttle/', 'an absolute path'],
    [`unix:/${'a'.repeat(107)}`, 'at most 107 bytes'],
  ])('refuses %s', (text, why) => {
    expect(() => parseListenAddress(text)).toThrow(why);
  });
});

describe('the unix_socket key', () => {
  const L = 'listen: ["unix:/run/cuttle/blog.sock"]\n';

  it('defaults to mode 0660 with the daemon user and group', () => {
    expect(loadConfig(L, 'c.yaml').unix_socket).toEqual({ mode: '0660', owner: null, group: null });
  });

  it.each([
    ['unix_socket: {mode: "rw-rw----"}\n', /c\.yaml:2:\d+: unix_socket\.mode: .*octal/],
    ['unix_socket: {mode: "0999"}\n', /c\.yaml:2:\d+: unix_socket\.mode/],
    ['unix_socket: {owner: "a b"}\n', /c\.yaml:2:\d+: unix_socket\.owner: .*user name or numeric uid/],
    ['unix_socket: {group: ""}\n', /c\.yaml:2:\d+: unix_socket\.group/],
    ['unix_socket: {mode: "0660", umask: "0"}\n', /c\.yaml:2:\d+: unix_socket/],
    ['listen: ["unix:relative.sock"]\n', /c\.yaml:1:\d+: listen\[0\]: .*absolute path/],
  ])('refuses %j with the position and key', (text, re) => {
    const yaml = text.startsWith('listen') ? text : `${L}${text}`;
    expect(() => loadConfig(yaml, 'c.yaml')).toThrow(re);
  });
});
