import { readFileSync } from 'node:fs';
import { DENY_REASONS } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/core/errors.js';

// docs/errors.md lists every deny reason and error code exactly once, and nothing else.
const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

function codesUnder(heading: string): string[] {
  const start = doc.indexOf(heading);
  expect(start, `docs/errors.md has a section "${heading}"`).toBeGreaterThan(-1);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string);
}

describe('docs/errors.md', () => {
  it('lists every deny reason from reasons.ts, once', () => {
    expect(codesUnder('## Deny reasons').sort()).toEqual(Object.keys(DENY_REASONS).sort());
  });

  it('lists every error code from errors.ts, once, with its status', () => {
    expect(codesUnder('## Error codes').sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(doc).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`, 'm'));
    }
  });
});
