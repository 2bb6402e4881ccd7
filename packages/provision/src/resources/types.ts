/** What `plan` found for one resource, and how `apply` converges it. */

/** One key that would change (`from` undefined: added; `to` undefined: removed). */
export interface KeyChange {
  readonly key: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

/**
 * `none`: converged. `create`/`update`/`delete`: apply does it. `replace-required`: only by deleting and recreating,
 * which cuttle-provision never does on its own (a pool holds the containers). `blocked`: a precondition is missing.
 */
export type PlanAction = 'none' | 'create' | 'update' | 'delete' | 'replace-required' | 'blocked';

/** The plan for one resource. `apply` is absent when there is nothing cuttle-provision would do. */
export interface ResourcePlan {
  /** `pool lxd`, `bridge lxdbr0`, `profile default`, `file /etc/cuttle/cuttle.yaml`, `nftables inet cuttle`. */
  readonly id: string;
  readonly action: PlanAction;
  readonly changes: readonly KeyChange[];
  /** Why (replace-required, blocked) or how (a two-step write), for people. */
  readonly note?: string;
  readonly apply?: () => Promise<void>;
}

/** Flat `key -> string` diff of the keys in `desired` against `current` (other current keys are kept). */
export function diffKeys(
  current: Readonly<Record<string, string>>,
  desired: Readonly<Record<string, string>>,
  prefix = '',
): KeyChange[] {
  const out: KeyChange[] = [];
  for (const [k, v] of Object.entries(desired)) {
    if (current[k] !== v) out.push({ key: `${prefix}${k}`, from: current[k], to: v });
  }
  return out;
}

/** A plan that changes nothing. */
export function unchanged(id: string): ResourcePlan {
  return { id, action: 'none', changes: [] };
}
