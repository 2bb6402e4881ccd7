/**
 * The bridge guard's set elements (render/nftables.ts): for every NIC of an LXD instance on the bridge, its MAC
 * and EUI-64 link-local address. Written in one nft transaction (flush and re-add, so no moment with a half set),
 * read back to compare. The MAC is the one LXD assigned (`volatile.NIC.hwaddr`, or `hwaddr`); LXD's
 * `security.mac_filtering` keeps the container from sending with any other.
 */
import { execFileSync } from 'node:child_process';
import { GUARD_SETS } from '../render/nftables.js';

/** One NIC the guard lets through. */
export interface GuardMember {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
}

/** What the guard needs of an identity record (identity/collect.ts's NicRecord). */
export interface GuardNic {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
  readonly bridge: string | null;
}

/** The members for `bridge` among the identity records (sorted by MAC, each MAC once). */
export function guardMembers(records: readonly GuardNic[], bridge: string): GuardMember[] {
  const byMac = new Map<string, GuardMember>();
  for (const r of records)
    if (r.bridge === bridge && !byMac.has(r.mac))
      byMac.set(r.mac, { name: r.name, mac: r.mac, address: r.address });
  return [...byMac.values()].sort((a, b) => a.mac.localeCompare(b.mac));
}

/** The 128-bit integer form nft takes for the ND target (`@th,64,128`): 0x and 32 hex digits. */
export function addressAsInteger(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `0x${groups.map((g) => g.padStart(4, '0')).join('')}`;
}

/** The nft commands that make the sets hold exactly `members` (one transaction with the table's file). */
export function renderGuardElements(table: string, members: readonly GuardMember[]): string {
  const lines = [
    `flush set netdev ${table} ${GUARD_SETS.pairs}`,
    `flush set netdev ${table} ${GUARD_SETS.targets}`,
    `flush set bridge ${table} ${GUARD_SETS.macs}`,
  ];
  if (members.length > 0) {
    const pairs = members.map((m) => `${m.mac} . ${m.address}`).join(', ');
    const targets = members.map((m) => `${m.mac} . ${addressAsInteger(m.address)}`).join(', ');
    const macs = members.map((m) => m.mac).join(', ');
    lines.push(`add element netdev ${table} ${GUARD_SETS.pairs} { ${pairs} }`);
    lines.push(`add element netdev ${table} ${GUARD_SETS.targets} { ${targets} }`);
    lines.push(`add element bridge ${table} ${GUARD_SETS.macs} { ${macs} }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `nft -f -` with `script`; throws with nft's message. */
export function nftScript(script: string): void {
  try {
    execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string; message: string };
    throw new Error(
      e.code === 'ENOENT'
        ? 'nft is not installed (package nftables)'
        : (e.stderr?.toString() ?? e.message).trim(),
    );
  }
}

/** Writes the sets (the tables must be loaded). */
export function loadGuardSets(table: string, members: readonly GuardMember[]): void {
  nftScript(renderGuardElements(table, members));
}

/** What the kernel holds: the (MAC, address) pairs of the guard, or null when the guard table is not loaded. */
export function readGuardPairs(table: string): string[] | null {
  let out: string;
  try {
    out = execFileSync('nft', ['-j', 'list', 'set', 'netdev', table, GUARD_SETS.pairs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return null;
  }
  const parsed = JSON.parse(out) as { nftables: { set?: { elem?: { concat: [string, string] }[] } }[] };
  const set = parsed.nftables.find((x) => x.set !== undefined)?.set;
  return (set?.elem ?? []).map((e) => `${e.concat[0]} . ${e.concat[1]}`).sort();
}

/** The pairs `members` should put in the kernel, in `readGuardPairs` form. */
export function expectedPairs(members: readonly GuardMember[]): string[] {
  return members.map((m) => `${m.mac} . ${m.address}`).sort();
}

/** The device the guard's ingress chain is bound to, or null. */
export function guardDevice(table: string): string | null {
  try {
    const out = execFileSync('nft', ['list', 'chain', 'netdev', table, 'ingress'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return /hook ingress device "?([^"\s;]+)"?/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}
