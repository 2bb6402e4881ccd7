/**
 * Checks resolved answers against the private-address guard. One guarded answer denies the whole name: a mix of
 * public and private answers is how DNS rebinding starts (RFC 6890 ranges; `destinations.allow_ranges` exempts).
 */
import { type AddressRangeSet, isGuardedAddress } from '@cuttle/shared';
import type { ResolveResult } from '../core/context.js';

/** `ok` with the addresses to connect to, or `private_address` listing every answer. */
export function checkAnswers(addresses: string[], allowRanges: AddressRangeSet): ResolveResult {
  if (addresses.length === 0) return { ok: false, code: 'dns_failure', message: 'no addresses' };
  for (const addr of addresses) {
    if (isGuardedAddress(addr, allowRanges).guarded) return { ok: false, code: 'private_address', addresses };
  }
  return { ok: true, addresses };
}
