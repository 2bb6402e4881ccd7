/**
 * One check per kind of config value whose form can be wrong, used by the schema (so `cuttle validate` reports
 * every bad value with file:line:col and its key) and by the policy compiler (the same rules, so a config that
 * loads also compiles). A leaf: it imports only the parsers in net/ and host/, never the schema or the policy.
 * Each returns null when the value is good, else the message.
 */
import { DomainMatcher } from '../host/domain-matcher.js';
import { parseParentUrl } from '../host/parent-url.js';
import { parseAddressRange } from '../net/cidr.js';

/** A destination name pattern (`allow`, rules' `domains`, `containers.NAME.allow`). */
export function validateDomainPattern(pattern: string): string | null {
  let message: string | null = null;
  new DomainMatcher([pattern], (_i, m) => {
    message = m;
  });
  return message;
}

/** A CIDR range or single address, IPv4 or IPv6, an IPv6 one with an optional zone (`fe80::/10%lxdbr0`). */
export function validateAddressRange(text: string): string | null {
  try {
    parseAddressRange(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The parent proxy URL (`upstream`): `http://[user[:pass]@]host:port[/]`. The message never repeats the URL, which
 * may hold a password.
 */
export function validateUpstream(url: string): string | null {
  const r = parseParentUrl(url);
  return r.ok ? null : r.reason;
}
