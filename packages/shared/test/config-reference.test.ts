import { readFileSync } from 'node:fs';
import { configSchema, renderConfigReference } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const committed = readFileSync(new URL('../../../docs/config-reference.md', import.meta.url), 'utf8');

describe('docs/config-reference.md', () => {
  it('is exactly what `cuttle config-reference` generates (regenerate: pnpm -s cuttle config-reference > docs/config-reference.md)', () => {
    expect(committed).toBe(renderConfigReference());
  });

  it('documents every top-level key with a description', () => {
    for (const key of Object.keys(configSchema.shape)) {
      expect(committed).toMatch(new RegExp(`^\\| \`${key}\` +\\|.*\\| [^| ][^|]+ \\|$`, 'm'));
    }
  });
});
