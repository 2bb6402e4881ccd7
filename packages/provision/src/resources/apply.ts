/**
 * Carries out a plan: every step of every resource in order, through a small set of effects (LXD writes, atomic
 * file writes, nft, commands), so a test can run a plan against stand-ins too. Refuses to start when a resource
 * needs a replacement or is blocked (nothing is changed then).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ApplyError, LxdApiError } from '../errors.js';
import { writeFileAtomic } from '../internal/atomic-file.js';
import type { LxdClient } from '../lxd/client.js';
import { runNft } from './facts.js';
import { stoppers } from './plan-host.js';
import type { LxdBody, ResourcePlan, Step } from './types.js';

/** What apply may do to the host. */
export interface Effects {
  lxdCreate(path: string, body: LxdBody): Promise<void>;
  lxdUpdate(path: string, build: (current: Record<string, unknown>) => LxdBody): Promise<void>;
  writeFile(path: string, content: string, mode: number): void;
  removeFile(path: string): void;
  /** `nft ARGS`; throws with nft's message on failure. */
  nft(args: readonly string[]): void;
  run(argv: readonly [string, ...string[]]): void;
}

/** The real host, with LXD through `client`. */
export function systemEffects(client: LxdClient): Effects {
  return {
    lxdCreate: async (path, body) => {
      await client.request('POST', path, body);
    },
    lxdUpdate: (path, build) => client.update<Record<string, unknown>>(path, build),
    writeFile: writeFileAtomic,
    removeFile: (path) => rmSync(path, { force: true }),
    nft: (args) => {
      const r = runNft(args);
      if (!r.ok) throw new Error(`nft ${args.join(' ')} failed: ${r.out.trim()}`);
    },
    run: ([cmd, ...args]) => {
      execFileSync(cmd, args, { stdio: 'inherit' });
    },
  };
}

async function runStep(effects: Effects, step: Step): Promise<void> {
  switch (step.kind) {
    case 'lxd-create':
      try {
        await effects.lxdCreate(step.path, step.body);
      } catch (err) {
        if (step.explain !== undefined && err instanceof LxdApiError)
          throw new ApplyError(step.explain(err.message), { cause: err });
        throw err;
      }
      return;
    case 'lxd-update':
      return effects.lxdUpdate(step.path, step.build);
    case 'write-file':
      return effects.writeFile(step.path, step.content, step.mode);
    case 'remove-file':
      return effects.removeFile(step.path);
    case 'nft':
      return effects.nft(step.args);
    case 'run':
      return effects.run(step.argv);
  }
}

/** Runs every plan's steps in order; resolves with the plans it carried out. */
export async function applyPlans(plans: readonly ResourcePlan[], effects: Effects): Promise<ResourcePlan[]> {
  const stop = stoppers(plans);
  if (stop.length > 0)
    throw new ApplyError(`nothing changed: ${stop.map((p) => `${p.id}: ${p.note ?? p.action}`).join('; ')}`);
  const done: ResourcePlan[] = [];
  for (const p of plans) {
    if (p.steps === undefined || p.action === 'none') continue;
    try {
      for (const step of p.steps) await runStep(effects, step);
    } catch (err) {
      if (err instanceof ApplyError) throw err;
      throw new ApplyError(`${p.id}: ${(err as Error).message}`, { cause: err });
    }
    done.push(p);
  }
  return done;
}
