import { existsSync, readFileSync } from 'node:fs';
import { DIRECTIVES, renderDirectiveTable } from '@cuttle/shared';
import { describe, expect, it } from 'vitest';

const DOC = new URL('../../../docs/squid-import.md', import.meta.url);
const SQUID_CONF = '/etc/squid/squid.conf';

describe('the directive table', () => {
  it('docs/squid-import.md holds exactly what `cuttle import-squid --directive-table` generates', () => {
    const doc = readFileSync(DOC, 'utf8');
    const m = /<!-- directive-table:begin -->\n([\s\S]*?)\n<!-- directive-table:end -->/.exec(doc);
    expect(m, 'the markers around the generated table').not.toBeNull();
    expect(m?.[1]).toBe(renderDirectiveTable());
  });

  // Debian's squid.conf documents every directive of the installed Squid as `#  TAG: name`.
  it.skipIf(!existsSync(SQUID_CONF) && process.env.CI !== 'true')(
    'classifies every directive the installed Squid documents',
    () => {
      const tags = [...readFileSync(SQUID_CONF, 'utf8').matchAll(/^# {2}TAG: (\S+)/gm)].map((t) => t[1]);
      expect(tags.length).toBeGreaterThan(300);
      expect(tags.filter((t) => !DIRECTIVES.has(t as string))).toEqual([]);
    },
  );

  it('names a cuttle key for every mapped directive and a reason for the others', () => {
    for (const [name, c] of DIRECTIVES) {
      expect(c.kind === 'mapped' ? c.key : c.why, name).not.toBe('');
    }
    expect(DIRECTIVES.get('refresh_pattern')?.kind).toBe('ignored');
    expect(DIRECTIVES.get('auth_param')?.kind).toBe('refused');
    expect(DIRECTIVES.get('dns_nameservers')).toEqual({ kind: 'mapped', key: 'dns.servers' });
  });
});
