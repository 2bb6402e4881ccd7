/**
 * `dstdom_regex [-i] REGEX` -> a cuttle name pattern, only when the two match exactly the same names. Anchored
 * forms of one literal name are translated; anything else (alternation, character classes in the name, an
 * unanchored end or start) has no exact pattern and is refused by the caller.
 *
 *   ^name$  -> name         ^(.*\.)?name$  (^|\.)name$  -> .name         \.name$  ^.+\.name$  -> **.name
 *   ^[^.]+\.name$  -> *.name
 */

const PREFIXES: readonly (readonly [string, string])[] = [
  ['^(.*\\.)?', '.'],
  ['^(.+\\.)?', '.'],
  ['(^|\\.)', '.'],
  ['^([^.]+\\.)*', '.'],
  ['^[^.]+\\.', '*.'],
  ['^.+\\.', '**.'],
  ['^.*\\.', '**.'],
  ['\\.', '**.'],
  ['^', ''],
];

/**
 * The cuttle pattern equal to `regex`, or null. `caseless` is `-i`; without it a regex naming an upper-case letter
 * could never match (Squid lower-cases the host before matching), so it has no translation either.
 */
export function translateDstdomRegex(regex: string, caseless: boolean): string | null {
  if (!regex.endsWith('$') || regex.endsWith('\\$')) return null;
  const body0 = regex.slice(0, -1);
  for (const [prefix, out] of PREFIXES) {
    if (!body0.startsWith(prefix)) continue;
    const body = body0.slice(prefix.length);
    // One literal name: labels of [A-Za-z0-9-_] joined by escaped dots.
    if (!/^[A-Za-z0-9_-]+(?:\\\.[A-Za-z0-9_-]+)*$/.test(body)) return null;
    if (!caseless && /[A-Z]/.test(body)) return null;
    return `${out}${body.replaceAll('\\.', '.').toLowerCase()}`;
  }
  return null;
}
