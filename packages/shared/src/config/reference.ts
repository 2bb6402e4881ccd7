/**
 * The config reference (docs/config-reference.md), generated from the schema so it cannot drift: every key with its
 * type, default and description. `cuttle config-reference` prints it; a test keeps the committed file equal.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

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
  minItems?: number;
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(' or ');
  if (s.enum !== undefined) return s.enum.map((e) => `\`${JSON.stringify(e)}\``).join(' or ');
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  if (t === 'array') return `list of ${s.items === undefined ? 'any' : typeOf(s.items)}`;
  if (t === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object')
    return `map of name to ${typeOf(s.additionalProperties)}`;
  if (t === 'object') return 'map';
  if (t === 'integer' || t === 'number') {
    const max = s.maximum !== undefined && s.maximum < 2 ** 31 ? s.maximum : undefined;
    if (s.minimum !== undefined && max !== undefined) return `${t} ${s.minimum}..${max}`;
    if (s.minimum !== undefined) return `${t} >= ${s.minimum}`;
  }
  return t ?? 'any';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

type Row = [string, string, string, string];

function rows(s: JsonSchema, prefix: string, required: boolean, out: Row[]): void {
  if (prefix !== '') {
    let def: string;
    if (s.default !== undefined) {
      const d = s.default;
      def =
        typeof d === 'object' && d !== null && !Array.isArray(d) && Object.keys(d).length === 0
          ? ''
          : `\`${JSON.stringify(d)}\``;
    } else def = required ? '**required**' : 'optional';
    out.push([`\`${prefix}\``, cell(typeOf(s)), cell(def), cell(s.description ?? '')]);
  }
  if (s.properties !== undefined) {
    for (const [k, v] of Object.entries(s.properties)) {
      rows(
        v,
        prefix === '' ? k : `${prefix}.${k}`,
        s.required?.includes(k) === true && v.default === undefined,
        out,
      );
    }
  } else if (s.items?.properties !== undefined) {
    const item = s.items;
    for (const [k, v] of Object.entries(item.properties ?? {})) {
      rows(v, `${prefix}[].${k}`, item.required?.includes(k) === true && v.default === undefined, out);
    }
  }
}

/**
 * A markdown reference of every key of a zod object schema: key, type, default, description, as one table padded
 * the way the repository's formatter writes it. `header` gets the schema's own description and returns the lines
 * above the table. Shared by cuttle's config and cuttle-provision's host.yaml references.
 */
export function renderSchemaReference(schema: z.ZodType, header: (description: string) => string[]): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const table: Row[] = [['key', 'type', 'default', 'description']];
  rows(json, '', true, table);
  return [...header(json.description ?? ''), ...formatTable(table), ''].join('\n');
}

/** The markdown reference of every config key, from the schema. */
export function renderConfigReference(): string {
  return renderSchemaReference(configSchema, (description) => [
    '# Config reference',
    '',
    '<!-- Generated from packages/shared/src/config/schema.ts by `pnpm -s cuttle config-reference > docs/config-reference.md`. Do not edit. -->',
    '',
    `${description} YAML; unknown keys are errors; errors name file, line, column and key`,
    '(`cuttle validate --config FILE`). Defaults apply to keys left out. Durations are milliseconds (`_ms`) or seconds (`_s`).',
    '',
    'A reload (SIGHUP) applies every key; none needs a restart. Requests and tunnels already running keep the config they',
    'started with; keys whose reload takes effect otherwise say so below ("On reload"). The `reloaded` line on stderr',
    'lists every key it applied.',
    '',
  ]);
}

/** A markdown table with padded columns, as the repository's formatter (biome) writes it. */
function formatTable(table: readonly Row[]): string[] {
  const widths = [0, 1, 2, 3].map((c) => Math.max(3, ...table.map((r) => r[c]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((x, i) => x.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head, ...body] = table;
  return [line(head ?? []), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}
