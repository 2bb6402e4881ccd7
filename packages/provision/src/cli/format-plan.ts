/** Plan output for people (one block per resource, `+`/`-`/`~` per key) and for machines (`--json`). */
import { lineDiff } from '../internal/line-diff.js';
import type { ResourcePlan } from '../resources/types.js';

const SIGN: Record<ResourcePlan['action'], string> = {
  none: ' ',
  create: '+',
  update: '~',
  delete: '-',
  'replace-required': '!',
  blocked: '!',
};

function show(v: string | undefined): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}

/** The line naming instances on no managed profile, or ''. */
export function unmanagedLine(unmanaged: readonly string[]): string {
  return unmanaged.length === 0
    ? ''
    : `Instances not on a managed profile (they keep whatever network they had): ${unmanaged.join(', ')}\n`;
}

/** The readable diff. */
export function formatPlan(
  plans: readonly ResourcePlan[],
  notes: readonly string[] = [],
  unmanaged: readonly string[] = [],
): string {
  const out: string[] = [];
  for (const p of plans) {
    out.push(`${SIGN[p.action]} ${p.id}: ${p.action === 'none' ? 'no changes' : p.action}`);
    if (p.note !== undefined) out.push(`    note: ${p.note}`);
    for (const c of p.changes) {
      if (c.key === 'content' && c.to !== undefined) {
        for (const line of c.to.split('\n')) out.push(`    ${line}`);
      } else if ((c.from ?? '').includes('\n') || (c.to ?? '').includes('\n')) {
        // Multi-line values (cloud-init user-data): a line diff reads better than one escaped string.
        out.push(`    ${c.from === undefined ? '+' : c.to === undefined ? '-' : '~'} ${c.key}:`);
        for (const line of lineDiff(c.from ?? '', c.to ?? '').split('\n')) out.push(`        ${line}`);
      } else if (c.from === undefined) out.push(`    + ${c.key} = ${show(c.to)}`);
      else if (c.to === undefined) out.push(`    - ${c.key} (was ${show(c.from)})`);
      else out.push(`    ~ ${c.key}: ${show(c.from)} -> ${show(c.to)}`);
    }
  }
  for (const n of notes) out.push(`  (skipped ${n})`);
  const pending = plans.filter((p) => p.action !== 'none').length;
  out.push(pending === 0 ? 'No changes.' : `${pending} resource(s) would change.`);
  return `${out.join('\n')}\n${unmanagedLine(unmanaged)}`;
}

/** The plan as JSON (without the apply closures). */
export function planJson(
  plans: readonly ResourcePlan[],
  notes: readonly string[] = [],
  unmanaged: readonly string[] = [],
): string {
  return `${JSON.stringify(
    {
      changes_pending: plans.some((p) => p.action !== 'none'),
      resources: plans.map(({ id, action, changes, note, inUseBy }) => ({
        id,
        action,
        changes,
        ...(note ? { note } : {}),
        ...(inUseBy ? { in_use_by: inUseBy } : {}),
      })),
      skipped: notes,
      unmanaged_instances: unmanaged,
    },
    null,
    2,
  )}\n`;
}
