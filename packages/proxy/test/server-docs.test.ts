import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DENY_REASONS } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/core/errors.js';
import { ALLOW_REASONS, CLOSE_REASONS } from '../src/core/outcomes.js';

// docs/errors.md lists every deny reason, allow reason, error code, close reason and CUTTLE_ERR_* code exactly once,
// and nothing else; each one listed is produced somewhere.
const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

function codesUnder(heading: string): string[] {
  const start = doc.indexOf(heading);
  expect(start, `docs/errors.md has a section "${heading}"`).toBeGreaterThan(-1);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^\|\s*`([A-Za-z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string);
}

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));

/** Every source file of every package, as [repo-relative path, text]. */
function sources(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts')) out.push([path.slice(PACKAGES.length), readFileSync(path, 'utf8')]);
    }
  };
  for (const pkg of readdirSync(PACKAGES)) walk(join(PACKAGES, pkg, 'src'));
  return out;
}

/** The modules that define the names: a name only they mention is never produced. */
const DEFINITIONS = new Set(['shared/src/policy/reasons.ts', 'proxy/src/core/outcomes.ts']);

/** Names no module other than the definitions writes as a string literal: listed, but never produced. */
function neverProduced(names: readonly string[]): string[] {
  const code = sources()
    .filter(([path]) => !DEFINITIONS.has(path))
    .map(([, text]) => text)
    .join('\n');
  return names.filter((n) => !code.includes(`'${n}'`) && !code.includes(`"${n}"`));
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

  it('lists every allow reason and every close reason, once', () => {
    expect(codesUnder('## Allow reasons').sort()).toEqual(Object.keys(ALLOW_REASONS).sort());
    expect(codesUnder('## Close reasons').sort()).toEqual(Object.keys(CLOSE_REASONS).sort());
  });

  it('lists no name that no code path can produce', () => {
    const all = [DENY_REASONS, ALLOW_REASONS, ERROR_CODES, CLOSE_REASONS].flatMap((t) => Object.keys(t));
    expect(neverProduced(all)).toEqual([]);
    // The check itself: a name that exists only in the definitions is caught.
    expect(neverProduced(['no_such_outcome_anywhere'])).toEqual(['no_such_outcome_anywhere']);
  });

  it('lists every CUTTLE_ERR_* code, once, and each is one of a CuttleError class', () => {
    const files = sources();
    const inCode = new Set(
      files.flatMap(([, text]) => [...text.matchAll(/'(CUTTLE_ERR_[A-Z_]+)'/g)].map((m) => m[1])),
    );
    expect(codesUnder('## Error classes').sort()).toEqual([...inCode].sort());
    let classes = 0;
    for (const [path, text] of files) {
      for (const m of text.matchAll(
        /class (\w+) extends (\w+) \{\n(?:\s+[^\n]*\n){0,2}?\s+readonly code = 'CUTTLE_ERR_/g,
      ))
        if (++classes && m[2] !== 'CuttleError')
          expect(`${path}: ${m[1]} extends ${m[2]}`).toBe('extends CuttleError');
    }
    expect(classes).toBeGreaterThanOrEqual(inCode.size);
  });
});
