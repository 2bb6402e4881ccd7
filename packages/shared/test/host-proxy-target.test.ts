import { parseProxyTarget } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

type Ok = readonly [method: string, target: string, host: string, port: number, path: string];
type Bad = readonly [method: string, target: string, detail: string];

const ACCEPTED: Ok[] = [
  ['GET', 'http://archive.ubuntu.com/', 'archive.ubuntu.com', 80, '/'],
  ['GET', 'http://archive.ubuntu.com', 'archive.ubuntu.com', 80, '/'],
  ['GET', 'HTTP://Archive.Ubuntu.com/', 'Archive.Ubuntu.com', 80, '/'],
  ['GET', 'http://archive.ubuntu.com./', 'archive.ubuntu.com.', 80, '/'],
  ['GET', 'http://archive.ubuntu.com:8080/a/b?c=d', 'archive.ubuntu.com', 8080, '/a/b?c=d'],
  ['GET', 'http://archive.ubuntu.com?x=1', 'archive.ubuntu.com', 80, '/?x=1'],
  ['GET', 'http://a.test/%2e%2e/x', 'a.test', 80, '/%2e%2e/x'],
  ['POST', 'http://a.test:65535/', 'a.test', 65535, '/'],
  ['GET', 'http://2130706433/', '2130706433', 80, '/'],
  ['GET', 'http://[::1]:8080/', '::1', 8080, '/'],
  ['GET', 'http://[fe80::1%25eth0]/', 'fe80::1%25eth0', 80, '/'],
  ['GET', 'http://[::ffff:127.0.0.1]/', '::ffff:127.0.0.1', 80, '/'],
  ['CONNECT', 'archive.ubuntu.com:443', 'archive.ubuntu.com', 443, ''],
  ['CONNECT', '[2001:db8::1]:443', '2001:db8::1', 443, ''],
  ['CONNECT', '[fe80::1%eth0]:443', 'fe80::1%eth0', 443, ''],
  ['CONNECT', '127.1:443', '127.1', 443, ''],
];

// Hostile request targets, one row each (smokescreen style): all must be 400, none may be "fixed".
const REFUSED: Bad[] = [
  ['GET', '', 'empty target'],
  ['GET', '/', 'origin-form: a proxy needs absolute-form'],
  ['GET', 'https://archive.ubuntu.com/', 'https absolute-form: use CONNECT'],
  ['GET', 'ftp://archive.ubuntu.com/', 'scheme not http'],
  ['GET', 'http:/archive.ubuntu.com/', 'scheme not http'],
  ['GET', 'http:archive.ubuntu.com', 'scheme not http'],
  ['GET', '//archive.ubuntu.com/', 'origin-form: a proxy needs absolute-form'],
  ['GET', 'http://', 'empty authority'],
  ['GET', 'http:///path', 'empty authority'],
  ['GET', 'http://:80/', 'empty host'],
  ['GET', 'http://archive.ubuntu.com/#frag', 'fragment'],
  ['GET', 'http://evil.com#@archive.ubuntu.com/', 'fragment'],
  ['GET', 'http://user:pass@archive.ubuntu.com/', 'userinfo in authority'],
  ['GET', 'http://archive.ubuntu.com@evil.com/', 'userinfo in authority'],
  ['GET', 'http://@archive.ubuntu.com/', 'userinfo in authority'],
  ['GET', 'http://evil.com\\@archive.ubuntu.com/', 'backslash'],
  ['GET', 'http://archive.ubuntu.com\\.evil.com/', 'backslash'],
  ['GET', 'http://archive.ubuntu.com/\\..\\', 'backslash'],
  ['GET', 'http://archive%2eubuntu.com/', 'percent-encoded host'],
  ['GET', 'http://%61rchive.ubuntu.com/', 'percent-encoded host'],
  ['GET', 'http://archive.ubuntu.com%00.evil.com/', 'percent-encoded host'],
  ['GET', 'http://archive.ubuntu.com :80/', 'control character or space'],
  ['GET', 'http://archive.ubuntu.com\t/', 'control character or space'],
  ['GET', 'http://archive.ubuntu.com\r\n/', 'control character or space'],
  ['GET', 'http://archive.ubuntu.com:/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:080/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:0/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:65536/', 'port out of range'],
  ['GET', 'http://archive.ubuntu.com:99999/', 'port out of range'],
  ['GET', 'http://archive.ubuntu.com:123456/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:+80/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:0x50/', 'port not canonical (1-65535, no leading zeros)'],
  ['GET', 'http://archive.ubuntu.com:80:80/', 'IPv6 literal without brackets'],
  ['GET', 'http://::1/', 'IPv6 literal without brackets'],
  ['GET', 'http://[::1/', 'unclosed IPv6 bracket'],
  ['GET', 'http://[::1]x/', 'junk after IPv6 literal'],
  ['GET', 'http://[evil.com]/', 'bad IPv6 literal'],
  ['GET', 'http://[::1]]/', 'junk after IPv6 literal'],
  ['GET', 'http://a[b].com/', 'delimiter in host'],
  ['GET', `http://a.test/${'x'.repeat(9000)}`, 'target too long'],
  ['CONNECT', 'archive.ubuntu.com', 'port required'],
  ['CONNECT', 'archive.ubuntu.com:', 'port not canonical (1-65535, no leading zeros)'],
  ['CONNECT', 'archive.ubuntu.com:0443', 'port not canonical (1-65535, no leading zeros)'],
  ['CONNECT', 'archive.ubuntu.com:443/', 'CONNECT target must be host:port'],
  ['CONNECT', 'archive.ubuntu.com:443?x', 'CONNECT target must be host:port'],
  ['CONNECT', 'http://archive.ubuntu.com:443', 'CONNECT target must be host:port'],
  ['CONNECT', 'user@archive.ubuntu.com:443', 'userinfo in authority'],
  ['CONNECT', 'evil.com#@archive.ubuntu.com:443', 'fragment'],
  ['CONNECT', '::1:443', 'IPv6 literal without brackets'],
  ['CONNECT', '[::1]', 'port required'],
  ['CONNECT', ':443', 'empty host'],
  ['CONNECT', 'archive%2eubuntu.com:443', 'percent-encoded host'],
  // Node reads request lines as latin1: UTF-8 bytes of b\u00fccher arrive as b\u00c3\u00bccher.
  ['GET', 'http://b\u00c3\u00bccher.example/', 'non-ASCII character'],
  ['GET', 'http://b\u00fccher.example/', 'non-ASCII character'],
  ['CONNECT', '\uff41rchive.ubuntu.com:443', 'non-ASCII character'],
];

describe('parseProxyTarget', () => {
  it.each(ACCEPTED)('%s %j -> host %j port %i path %j', (method, target, host, port, path) => {
    expect(parseProxyTarget(method, target)).toEqual({ ok: true, host, port, path });
  });

  it('accepts a Unicode host when asked (cuttle check), leaving IDNA to normalizeHost', () => {
    expect(parseProxyTarget('GET', 'http://b\u00fccher.example/', { allowNonAscii: true })).toEqual({
      ok: true,
      host: 'b\u00fccher.example',
      port: 80,
      path: '/',
    });
  });

  it.each(REFUSED)('%s %j -> bad_target (%s)', (method, target, detail) => {
    expect(parseProxyTarget(method, target)).toEqual({ ok: false, code: 'bad_target', detail });
  });
});
