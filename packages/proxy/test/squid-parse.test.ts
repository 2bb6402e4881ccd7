import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSquid } from '@cuttle/shared';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskSquidFiles } from '../src/cli/squid-files.js';

// The importer's reader against Squid 5.7's own (`squid -k parse`): where Squid accepts a line, the importer reads
// it too; where Squid rejects it, so does the importer, except the documented cases (docs/squid-import.md). Squid
// accepts or rejects through its output (`ERROR:`, `FATAL:`, `unrecognized:`), not its exit code.

/** A line is accepted by both, rejected by both, or read differently on purpose (with the reason). */
type Expect = 'both accept' | 'both reject' | `cuttle accepts: ${string}` | `cuttle rejects: ${string}`;

// Each row is one line after a fixed prefix that defines a working policy; `files` are written next to it.
const ROWS: [line: string, expected: Expect, files?: Record<string, string>][] = [
  ['acl a src 10.0.0.0/8 # RFC 1918', 'both accept'],
  ['acl a src 10.0.0.0/8\t#tab comment', 'both accept'],
  ['http_port 127.0.0.1:3999 # the listener', 'both accept'],
  ['acl p port 80#1', 'both reject'],
  ['acl p port 70000', 'both reject'],
  ['acl p port 1025-65535', 'both accept'],
  ['acl p port "LIST"', 'both accept', { LIST: '# ports\n\n443 # https\n  8000-8010  \n' }],
  ['acl p port "LIST"', 'both reject', { LIST: '80 81\n' }],
  ['acl d dstdomain "LIST" .x.test', 'both accept', { LIST: 'a.test\n# c\n.b.test\n' }],
  ['acl d dstdomain a.test \\\n    b.test', 'both accept'],
  ['include INCDIR/*.conf', 'both accept', { 'inc/a.conf': 'acl inc dstdomain inc.test\n' }],
  ['include INCDIR/none-*.conf', 'both reject'],
  ['acl localhost src 127.0.0.1/32 ::1', 'both accept'],
  ['acl CONNECT method CONNECT', 'both accept'],
  ['acl all src all', 'both accept'],
  ['acl manager proto cache_object', 'both accept'],
  ['acl l src 0.0.0.1-0.255.255.255', 'both accept'],
  ['acl l src 10.0.0.0/255.0.0.0', 'both accept'],
  ['acl r dstdom_regex -i ^api\\.x\\.test$', 'both accept'],
  ['acl d dstdomain -i a.test', 'both reject'],
  ['frobnicate on', 'both reject'],
  ['coredump_dir /tmp', 'both accept'],
  // Squid logs an ERROR but runs on with an empty ACL; the importer refuses (docs/squid-import.md).
  ['acl d dstdomain "NOFILE"', 'both reject'],
  [
    'acl d dstdomain q.test .q.test',
    'cuttle accepts: Squid 5.7 stops ("is a subdomain of"); the importer keeps .q.test with a warning',
  ],
  ['http_port 3998 intercept', 'cuttle rejects: Squid accepts; cuttle is not a transparent proxy'],
];

const PREFIX = 'acl lan src 10.0.0.0/8\nacl p2 port 80 443\nhttp_access deny !p2\nhttp_access allow lan\n';

describe.skipIf(skipUnless({ root: true, commands: ['squid'] }))(
  'the reader agrees with squid -k parse',
  () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'squid-parse-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(ROWS.map((r, i) => [i, ...r] as const))('%i: %s -> %s', (i, line, expected, files = {}) => {
      const d = join(dir, String(i));
      execFileSync('mkdir', ['-p', join(d, 'inc')]);
      const fill = (s: string): string =>
        s
          .replaceAll('LIST', join(d, 'list.txt'))
          .replaceAll('NOFILE', join(d, 'none.txt'))
          .replaceAll('INCDIR', join(d, 'inc'));
      for (const [name, text] of Object.entries(files))
        writeFileSync(join(d, name === 'LIST' ? 'list.txt' : name), text);
      const conf = join(d, 'squid.conf');
      writeFileSync(conf, `${PREFIX}${fill(line)}\n`);
      // -k parse reports on stderr; its exit status does not say whether a line was refused.
      const out = execFileSync('sh', ['-c', `squid -k parse -f '${conf}' 2>&1 || true`], {
        encoding: 'utf8',
      });
      const squidRejects = /(?:ERROR|FATAL):|unrecognized:/.test(out);
      const cuttleRejects =
        analyzeSquid(`${PREFIX}${fill(line)}\n`, conf, { files: diskSquidFiles(conf, undefined) }).issues
          .length > 0;
      const got: string =
        squidRejects === cuttleRejects
          ? squidRejects
            ? 'both reject'
            : 'both accept'
          : cuttleRejects
            ? 'cuttle rejects'
            : 'cuttle accepts';
      expect({ line, got }).toEqual({ line, got: expected.split(':')[0] });
    });
  },
);
