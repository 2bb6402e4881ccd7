/**
 * docs/host-reference.md, generated from the host.yaml schema so it cannot drift (`pnpm -s provision reference`);
 * a test keeps the committed file equal. The table is shared's schema reference, as for the proxy's config.
 */
import { renderSchemaReference } from '@cuttle/shared';
import { hostConfigSchema } from './schema.js';

/** The markdown reference of every host.yaml key. */
export function renderHostReference(): string {
  return renderSchemaReference(hostConfigSchema, (description) => [
    '# host.yaml reference',
    '',
    '<!-- Generated from packages/provision/src/host-config/schema.ts by `pnpm -s provision reference > docs/host-reference.md`. Do not edit. -->',
    '',
    `${description} YAML; unknown keys are errors; errors name file, line, column and key.`,
    "Every key is optional: the defaults are the seed's host. See docs/provision.md for what each resource does.",
    '',
  ]);
}
