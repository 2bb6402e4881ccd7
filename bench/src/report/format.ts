import { type Summary, spreadPercent } from './stats.js';

/** A number with thousands separators and `digits` decimals; "n/a" for NaN. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median ±x%" for a summary of several rounds. */
export function formatSummary(s: Summary, digits = 0): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const spread = spreadPercent(s);
  const pm =
    Number.isFinite(spread) && s.n > 1 ? ` ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%` : '';
  return `${formatNumber(s.median, digits)}${pm}`;
}

/** A ratio like "1.52x"; "n/a" when either side is missing. */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

/** A GitHub-flavoured markdown table; numeric-looking columns are right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,±%x n/a]+$/.test(r[i] ?? '')),
  );
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}
