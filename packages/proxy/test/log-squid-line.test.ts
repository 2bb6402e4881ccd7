/**
 * The squid format against Squid itself: each row is a line Squid 5.7 wrote on this kind of machine (loopback,
 * `logformat squid`, default strip_query_terms), beside the AccessRecord cuttle would have for the same exchange.
 * cuttle's line must equal Squid's except where the two proxies really differ (reply sizes: Squid counts its
 * own error pages and headers; cuttle counts what it relayed), and both must parse back to the same fields.
 */
import { describe, expect, it } from 'vitest';
import type { AccessRecord } from '../src/core/context.js';
import { formatSquidLine, parseAccessLine } from '../src/log/index.js';

const BASE: AccessRecord = {
  time: 0,
  client: '127.0.0.1',
  container: null,
  method: 'GET',
  host: 'ok.test',
  port: 18080,
  path: '/',
  verdict: 'allow',
  reason: 'allowlisted',
  rule: 'ok.test',
  status: 200,
  bytesUp: 0,
  bytesDown: 0,
  durationMs: 0,
  upstream: null,
  answers: null,
  closeReason: null,
  sni: null,
  contentType: null,
};

const ROWS: { squid: string; rec: Partial<AccessRecord> }[] = [
  {
    squid:
      '1795926142.257      2 127.0.0.1 TCP_MISS/200 737 GET http://ok.test:18080/ - HIER_DIRECT/127.0.0.1 text/html',
    rec: {
      time: 1795926142257,
      durationMs: 2,
      bytesDown: 737,
      upstream: '127.0.0.1:18080',
      contentType: 'text/html',
    },
  },
  {
    squid:
      '1795926142.262      0 127.0.0.1 TCP_DENIED/403 3409 GET http://other.test/x? - HIER_NONE/- text/html',
    rec: {
      time: 1795926142262,
      host: 'other.test',
      port: 80,
      path: '/x?y=1',
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
      bytesDown: 3409,
      contentType: 'text/html',
    },
  },
  {
    squid:
      '1795926142.271      0 127.0.0.1 TCP_MISS/503 3430 GET http://ok.test:18081/ - HIER_DIRECT/127.0.0.1 text/html',
    rec: {
      time: 1795926142271,
      port: 18081,
      verdict: 'error',
      reason: 'upstream_refused',
      status: 503,
      bytesDown: 3430,
      upstream: '127.0.0.1:18081',
      contentType: 'text/html',
    },
  },
  {
    squid:
      '1795926142.279      0 127.0.0.1 TCP_DENIED/403 3409 CONNECT other.test:443 - HIER_NONE/- text/html',
    rec: {
      time: 1795926142279,
      method: 'CONNECT',
      host: 'other.test',
      port: 443,
      path: null,
      verdict: 'deny',
      reason: 'not_allowlisted',
      status: 403,
      bytesDown: 3409,
      contentType: 'text/html',
    },
  },
  {
    squid:
      '1795926150.624     17 127.0.0.1 TCP_TUNNEL/200 7099 CONNECT ok.test:18443 - HIER_DIRECT/127.0.0.1 -',
    rec: {
      time: 1795926150624,
      durationMs: 17,
      method: 'CONNECT',
      port: 18443,
      path: null,
      bytesDown: 7099,
      upstream: '127.0.0.1:18443',
    },
  },
  {
    squid: '1795926167.622      0 127.0.0.1 NONE_NONE/503 0 CONNECT ok.test:18443 - HIER_DIRECT/127.0.0.1 -',
    rec: {
      time: 1795926167622,
      method: 'CONNECT',
      port: 18443,
      path: null,
      verdict: 'error',
      reason: 'upstream_refused',
      status: 503,
      upstream: '127.0.0.1:18443',
    },
  },
  {
    squid:
      '1795926167.673      5 127.0.0.1 TCP_MISS/404 604 GET http://ok.test:18080/nonexist - HIER_DIRECT/127.0.0.1 text/html',
    rec: {
      time: 1795926167673,
      durationMs: 5,
      path: '/nonexist',
      status: 404,
      bytesDown: 604,
      upstream: '127.0.0.1:18080',
      contentType: 'text/html',
    },
  },
];

describe('squid format: the line Squid 5.7 writes', () => {
  it.each(ROWS)('$squid', ({ squid, rec }) => {
    const line = formatSquidLine({ ...BASE, ...rec }, false);
    expect(line).toBe(squid);
    const ours = parseAccessLine(line);
    const theirs = parseAccessLine(squid);
    expect(ours).not.toBeNull();
    expect(ours).toEqual(theirs);
  });

  it('writes a bad request as NONE_NONE with error:invalid-request, and a parent hop as FIRSTUP_PARENT', () => {
    const bad = formatSquidLine(
      {
        ...BASE,
        method: '-',
        host: '-',
        port: 0,
        path: null,
        verdict: 'error',
        reason: 'bad_request',
        status: 400,
      },
      false,
    );
    expect(bad).toMatch(/ NONE_NONE\/400 0 NONE error:invalid-request - HIER_NONE\/- -$/);
    const parent = formatSquidLine({ ...BASE, upstream: '[::1]:3129' }, true);
    expect(parent).toMatch(/ FIRSTUP_PARENT\/::1 -$/);
    const v6 = formatSquidLine({ ...BASE, host: '2001:db8::1', port: 80, client: 'fe80::2%lxdbr0' }, false);
    expect(v6.split(' ').filter((f) => f !== '')).toEqual([
      expect.stringMatching(/^\d+\.\d{3}$/),
      '0',
      'fe80::2%lxdbr0',
      'TCP_MISS/200',
      '0',
      'GET',
      'http://[2001:db8::1]/',
      '-',
      'HIER_NONE/-',
      '-',
    ]);
    expect(parseAccessLine(v6)).toMatchObject({ host: '2001:db8::1', port: 80, client: 'fe80::2%lxdbr0' });
  });
});
