/**
 * docs/host-reference.md, generated from the host.yaml schema so it cannot drift (`pnpm -s provision reference`);
 * a test keeps the committed file equal.
 */
import { z } from 'zod';
import { hostConfigSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(' or ');
  if (s.enum !== undefined) return s.enum.map((e) => `\`${JSON.stringify(e)}\``).join(' or ');
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  if (t === 'array') return `list of ${s.items === undefined ? 'any' : typeOf(s.items)}`;
  if (t === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object')
    return `map of name to ${typeOf(s.additionalProperties)}`;
  if (t === 'object') return 'map';
  if (t === 'integer' && s.minimum !== undefined && s.maximum !== undefined)
    return `integer ${s.minimum}..${s.maximum}`;
  return t ?? 'any';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function rows(s: JsonSchema, prefix: string, out: string[]): void {
  if (prefix !== '' && s.properties === undefined) {
    const d = s.default;
    const def =
      d === undefined
        ? 'optional'
        : typeof d === 'object' && d !== null && Object.keys(d).length === 0
          ? '`{}`'
          : `\`${JSON.stringify(d)}\``;
    out.push(`| \`${prefix}\` | ${cell(typeOf(s))} | ${cell(def)} | ${cell(s.description ?? '')} |`);
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v.properties !== undefined) out.push(`| **\`${key}\`** | section | | ${cell(v.description ?? '')} |`);
    rows(v, key, out);
  }
}

/** The markdown reference of every host.yaml key. */
export function renderHostReference(): string {
  const json = z.toJSONSchema(hostConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [
    '# host.yaml reference',
    '',
    '<!-- Generated from packages/provision/src/host-config/schema.ts by `pnpm -s provision reference > docs/host-reference.md`. Do not edit. -->',
    '',
    `${json.description ?? ''} YAML; unknown keys are errors; errors name file, line, column and key.`,
    "Every key is optional: the defaults are the seed's host. See docs/provision.md for what each resource does.",
    '',
    '| key | type | default | description |',
    '| --- | --- | --- | --- |',
  ];
  rows(json, '', out);
  out.push('');
  return out.join('\n');
}
