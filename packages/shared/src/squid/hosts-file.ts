/**
 * A hosts file (Squid's `hosts_file`, /etc/hosts format) -> `dns.hosts`. Each line is `ADDRESS NAME [NAME...]`;
 * `#` starts a comment. Names are lower-cased; an address listed for a name twice is kept once. Pure: the CLI
 * reads the file.
 */
import { SquidImportError, type SquidIssue } from '../errors.js';
import { normalizeHost } from '../host/normalize-host.js';
import { parseIpAddress } from '../net/address.js';

/** Parses hosts-file `text` read from `file`; throws SquidImportError listing every bad line. */
export function parseHostsFile(text: string, file: string): Record<string, string[]> {
  const hosts: Record<string, string[]> = {};
  const issues: SquidIssue[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const fields = (hash === -1 ? raw : raw.slice(0, hash))
      .trim()
      .split(/\s+/)
      .filter((f) => f !== '');
    if (fields.length === 0) return;
    const [addr, ...names] = fields as [string, ...string[]];
    const ip = parseIpAddress(addr);
    if (ip === null || (ip.kind === 'ipv6' && ip.zone !== undefined)) {
      issues.push({ file, line: i + 1, message: `"${addr}" is not an IP address` });
      return;
    }
    if (names.length === 0) {
      issues.push({ file, line: i + 1, message: `no name after "${addr}"` });
      return;
    }
    for (const name of names) {
      const n = normalizeHost(name);
      if (n.kind !== 'name') {
        issues.push({ file, line: i + 1, message: `"${name}" is not a host name` });
        continue;
      }
      const list = hosts[n.host] ?? [];
      if (!list.includes(addr)) list.push(addr);
      hosts[n.host] = list;
    }
  });
  if (issues.length > 0) throw new SquidImportError(issues);
  return hosts;
}
