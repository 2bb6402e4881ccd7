import { changedConfigKeys } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

describe('changedConfigKeys', () => {
  it.each<[string, unknown, unknown, string[]]>([
    ['nothing', { a: 1, b: { c: [1] } }, { a: 1, b: { c: [1] } }, []],
    [
      'a nested value',
      { t: { header_ms: 10, keepalive_ms: 5 } },
      { t: { header_ms: 2, keepalive_ms: 5 } },
      ['t.header_ms'],
    ],
    ['a list as a whole', { listen: ['a', 'b'] }, { listen: ['b', 'a'] }, ['listen']],
    [
      'a key added to a map',
      { containers: {} },
      { containers: { web: { allow: ['x'] } } },
      ['containers.web'],
    ],
    ['null to a value', { upstream: null }, { upstream: 'http://p.test:3128' }, ['upstream']],
  ])('%s', (_name, a, b, want) => {
    expect(changedConfigKeys(a, b)).toEqual(want);
  });
});
