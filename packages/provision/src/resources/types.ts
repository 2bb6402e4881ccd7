/**
 * What `plan` found for one resource, and the steps `apply` takes to converge it. A plan is data: the planner
 * (plan-host.ts) is a pure function of the gathered facts and host.yaml, and only apply.ts touches the host.
 */

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

/** A JSON body for LXD. */
export type LxdBody = Readonly<Record<string, unknown>>;

/**
 * One thing apply does. Paths of files are under the root prefix already.
 * - `lxd-create`: POST `path` with `body`; `explain`, when given, turns LXD's refusal into the message shown.
 * - `lxd-update`: GET `path`, PUT `build(current)` with If-Match (once more on 412); `build` is pure.
 * - `write-file`: atomically, with exactly `mode`. `remove-file`: rm -f.
 * - `nft`: `nft ARGS`. `run`: a command (lvcreate, systemctl) with inherited output.
 */
export type Step =
  | {
      readonly kind: 'lxd-create';
      readonly path: string;
      readonly body: LxdBody;
      readonly explain?: (lxdMessage: string) => string;
    }
  | {
      readonly kind: 'lxd-update';
      readonly path: string;
      readonly build: (current: Record<string, unknown>) => LxdBody;
    }
  | { readonly kind: 'write-file'; readonly path: string; readonly content: string; readonly mode: number }
  | { readonly kind: 'remove-file'; readonly path: string }
  | { readonly kind: 'nft'; readonly args: readonly string[] }
  | { readonly kind: 'run'; readonly argv: readonly [string, ...string[]] };

/** The plan for one resource. `steps` is absent when there is nothing cuttle-provision would do. */
export interface ResourcePlan {
  /** `pool lxd`, `bridge lxdbr0`, `profile default`, `file /etc/cuttle/cuttle.yaml`, `nftables inet cuttle`. */
  readonly id: string;
  readonly action: PlanAction;
  readonly changes: readonly KeyChange[];
  /** Why (replace-required, blocked) or how (a two-step write), for people. */
  readonly note?: string;
  readonly steps?: readonly Step[];
  /** Running instances that use this bridge or profile: apply changes it only with --force. */
  readonly inUseBy?: readonly string[];
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
