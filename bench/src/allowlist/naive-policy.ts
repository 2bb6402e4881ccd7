/**
 * The naive baseline: what a first implementation would do. Every pattern is a precompiled Minimatch over the
 * host's labels (dots turned into slashes so `*` stays inside one label), tried one after another until one
 * matches. Precompiling is the fair version; calling minimatch() per pattern per request would be far slower.
 */
import { isIP } from 'node:net';
import type { DecisionInput } from '@cuttle/shared';
import { Minimatch } from 'minimatch';

const OPTIONS = { dot: true, nobrace: true, noext: true, nocomment: true, nonegate: true } as const;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT']);

/** `.name` -> name and its subdomains; `**.name` -> one or more labels; `*` -> one label; else exact. */
function toGlob(pattern: string): string {
  const p = pattern.toLowerCase();
  if (p.startsWith('.')) return `**/${p.slice(1).replaceAll('.', '/')}`;
  return p
    .split('.')
    .map((l) => (l === '**' ? '*/**' : l))
    .join('/');
}

/** A linear-scan policy with the same verdicts as cuttle's for the generated lists. */
export class NaivePolicy {
  readonly #matchers: Minimatch[];
  readonly #ports = new Set([80, 443]);

  constructor(patterns: readonly string[]) {
    this.#matchers = patterns.map((p) => new Minimatch(toGlob(p), OPTIONS));
  }

  /** True if the request would be allowed. */
  decide(input: DecisionInput): boolean {
    if (!METHODS.has(input.method)) return false;
    if (input.method === 'CONNECT' ? input.port !== 443 : !this.#ports.has(input.port)) return false;
    let host = input.host.toLowerCase();
    if (host.startsWith('[')) host = host.slice(1, -1);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (isIP(host) !== 0) return false;
    const path = host.replaceAll('.', '/');
    for (const m of this.#matchers) if (m.match(path)) return true;
    return false;
  }
}
