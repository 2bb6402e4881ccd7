/**
 * Loading a large allowlist: a squid.conf whose dstdomain ACL reads a 100k-line list file, imported (`importSquid`
 * with the file served from memory), its YAML loaded and compiled, against a cuttle YAML config with the same names
 * in `allow`, loaded and compiled. Both in this process, alternating rounds (issue 13: "about as fast").
 */
import { compilePolicy, importSquid, loadConfig, type SquidFiles } from '@cuttle/shared';
import { type Summary, summarize } from '../report/stats.js';
import { generateAllowlist } from './generate-rules.js';

/** One measurement of list loading. */
export interface ListLoadRow {
  readonly lines: number;
  /** ms: import the squid.conf and its list file, load the YAML it prints, compile the policy. */
  readonly squidMs: Summary;
  /** ms: load a YAML config with the same names in `allow`, compile the policy. */
  readonly yamlMs: Summary;
  /** Median squid / median YAML. */
  readonly ratio: number;
}

const CONF = [
  'acl p port 80 443',
  'acl s port 443',
  'acl lan src fe80::/10',
  'acl big dstdomain "/etc/squid/big.txt"',
  'http_access deny !p',
  'http_access deny CONNECT !s',
  'http_access allow lan big',
  'http_access deny all',
  'http_port [::1]:3128',
  '',
].join('\n');

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** Measures `rounds` loads of each form of a `lines`-entry list. */
export function measureListLoad(lines: number, rounds: number): ListLoadRow {
  // dstdomain has no globs: keep the exact and .suffix entries of the generated list.
  const names = [...new Set(generateAllowlist(lines * 2, 13).patterns.filter((p) => !p.includes('*')))].slice(
    0,
    lines,
  );
  const listText = `# generated allowlist\n${names.join('\n')}\n`;
  const files: SquidFiles = {
    resolve: (p) => p,
    glob: (p) => (p === '/etc/squid/big.txt' ? [p] : []),
    read: (p) => (p === '/etc/squid/big.txt' ? listText : null),
  };
  const yamlText = `listen: ["[::1]:3128"]\nclients: [fe80::/10]\nallow:\n${names.map((n) => `  - ${n}\n`).join('')}`;
  const squidMs: number[] = [];
  const yamlMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = process.hrtime.bigint();
    const imported = importSquid(CONF, 'squid.conf', { files });
    compilePolicy(loadConfig(imported.yamlText, 'imported.yaml'));
    squidMs.push(ms(t0));
    t0 = process.hrtime.bigint();
    compilePolicy(loadConfig(yamlText, 'cuttle.yaml'));
    yamlMs.push(ms(t0));
  }
  const s = summarize(squidMs);
  const y = summarize(yamlMs);
  return { lines: names.length, squidMs: s, yamlMs: y, ratio: s.median / y.median };
}
