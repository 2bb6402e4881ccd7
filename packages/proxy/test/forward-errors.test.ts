import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, ERROR_CODES, ProxyError } from '../src/core/errors.js';

// The one errno -> status table. Refusals and resets are 502, timeouts 504, parse errors from an origin 502.
describe('errors: errno to status', () => {
  it.each([
    ['ECONNREFUSED', 'upstream_refused', 502],
    ['ECONNRESET', 'upstream_reset', 502],
    ['EPIPE', 'upstream_reset', 502],
    ['EHOSTUNREACH', 'upstream_unreachable', 502],
    ['ENETUNREACH', 'upstream_unreachable', 502],
    ['ETIMEDOUT', 'upstream_timeout', 504],
    ['ENOTFOUND', 'dns_failure', 502],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'bad_response', 502],
    ['HPE_HEADER_OVERFLOW', 'bad_response', 502],
    ['ESOMETHINGNEW', 'upstream_failed', 502],
  ] as const)('%s -> %s (%i)', (errno, code, status) => {
    const err = Object.assign(new Error(errno), { code: errno });
    expect(classifyUpstreamError(err)).toBe(code);
    expect(ERROR_CODES[classifyUpstreamError(err)].status).toBe(status);
  });

  it('keeps the code of its own errors, with the cause', () => {
    const cause = new Error('inner');
    const err = new ProxyError('upstream_timeout', 'connect timeout', { cause });
    expect(classifyUpstreamError(err)).toBe('upstream_timeout');
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('ProxyError');
  });

  it('classifies a value that is not an error as a generic upstream failure', () => {
    expect(classifyUpstreamError(null)).toBe('upstream_failed');
    expect(classifyUpstreamError('x')).toBe('upstream_failed');
  });
});
