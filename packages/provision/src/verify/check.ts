/** One verify check and the pass/fail table. */

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Runs `fn`; an exception is a failed check with its message. */
export async function check(
  name: string,
  fn: () => Promise<[boolean, string]> | [boolean, string],
): Promise<CheckResult> {
  try {
    const [ok, detail] = await fn();
    return { name, ok, detail };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

/** The table: `PASS  name  detail` per line, then a summary. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 5);
  const lines = results.map(
    (r) => `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${r.detail.replace(/\s*\n\s*/g, ' | ')}`,
  );
  const failed = results.filter((r) => !r.ok).length;
  lines.push(
    failed === 0 ? `All ${results.length} checks passed.` : `${failed} of ${results.length} checks failed.`,
  );
  return `${lines.join('\n')}\n`;
}
