import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@cuttle/shared';
import { CUTTLE_MAIN, type Origin, skipUnless, startOrigin, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  type DeadResolver,
  freeLoopbackPort,
  makeSquidDir,
  runtimeOnly,
  startDeadResolver,
  startSquid,
} from '../../../test-support/squid.js';
import { type ProbeRequest, sendProbes, verdictOf } from '../../../test-support/squid-probes.js';

// Differential test of whole squid.conf files as people run them: Debian 12's own /etc/squid/squid.conf (read from
// the system, never copied into the tree) and eight egress allowlists modelled on public ones (fixtures/squid/).
// Each is imported by `cuttle import-squid` as written and run by a real Squid 5.7 as written, except that the
// lines binding ports or naming pid, log and core files and resolvers (`RUNTIME_DIRECTIVES`) are commented out for
// Squid, which gets the test's own listener, logs and loopback resolver instead. Requests go to both; verdicts must
// agree outside the documented difference (`ip-literal-needs-dst`, docs/conformance.md).

const execFileAsync = promisify(execFile);
const FIXTURES = new URL('./fixtures/squid/', import.meta.url).pathname;
const IN = '127.0.0.1';
const OUT = '127.0.0.200';

interface Case {
  readonly name: string;
  /** The squid.conf to import, relative to the fixture copy (or absolute: Debian's). */
  readonly conf: string;
  /** `--root` for the import (relative to the copy); Squid then runs a copy with absolute paths under it. */
  readonly root?: string;
  /** Hosts to probe (each resolves to 127.0.0.1 for both proxies). */
  readonly hosts: readonly string[];
  /** Hosts to probe that resolve for neither proxy (the resolver refuses them). */
  readonly unresolved?: readonly string[];
  /** The config denies `to_localhost`: cuttle runs with its private-address guard on (no allow_ranges). */
  readonly guard?: boolean;
}

const CASES: Case[] = [
  {
    name: "Debian 12's default /etc/squid/squid.conf",
    conf: '/etc/squid/squid.conf',
    hosts: ['deb.debian.test', 'any.test', '127.0.0.1'],
  },
  {
    name: 'ci-sandbox (list file, trailing comments, 1025-65535, identical built-ins, to_localhost)',
    conf: 'ci-sandbox/squid.conf',
    hosts: ['registry.npmjs.test', 'pypi.test', 'x.pypi.test', 'crates.test', 'other.test', '127.0.0.1'],
    // Every name above resolves to 127.0.0.1, which `deny to_localhost` (Squid) and the guard (cuttle) refuse; a
    // name that does not resolve passes to_localhost and shows the allowlist itself.
    unresolved: ['cdn.pypi.test', 'unknown.test'],
    guard: true,
  },
  {
    name: 'k8s-egress (include glob, src range, netmask, manager)',
    conf: 'k8s-egress/squid.conf',
    hosts: [
      'quay.test',
      'cdn.quay.test',
      'charts.helm.test',
      'x.charts.helm.test',
      'db.warehouse.test',
      'other.test',
    ],
  },
  {
    name: 'docker-whitelist (relative list file, lines after deny all)',
    conf: 'docker-whitelist/squid.conf',
    hosts: [
      'github.test',
      'api.github.test',
      'objects.githubusercontent.test',
      'hub.docker.test',
      'gitlab.test',
    ],
  },
  {
    name: 'cloud-egress (dstdom_regex -i, settings, logformat)',
    conf: 'cloud-egress/squid.conf',
    hosts: [
      's3.amazonaws.test',
      'amazonaws.test',
      'API.Vendor.test',
      'x.api.vendor.test',
      'a.cdn.vendor.test',
      'cdn.vendor.test',
      'evilamazonaws.test',
    ],
  },
  {
    name: 'devcontainer-root (--root, continuation, every port allowed)',
    conf: 'devcontainer-root/etc/squid/squid.conf',
    root: 'devcontainer-root',
    hosts: ['marketplace.test', 'a.marketplace.test', 'api.model.test', 'x.telemetry.test', 'other.test'],
  },
  {
    name: 'apt-mirror-parent (cache_peer parent, never_direct, dstdomain -n)',
    conf: 'apt-mirror-parent/squid.conf',
    hosts: ['deb.mirror.test', 'security.mirror.test', 'x.deb.mirror.test', 'other.test'],
  },
  {
    name: 'readonly-egress (methods, negations, timeouts)',
    conf: 'readonly-egress/squid.conf',
    hosts: ['docs.test', 'x.docs.test', 'git.source.test', 'other.test'],
  },
  {
    name: 'multi-tenant (two client groups, a deny list first)',
    conf: 'multi-tenant/squid.conf',
    hosts: ['x.a.test', 'x.b.test', 'cdn.shared.test', 'x.bad.a.test', 'tracker.test', 'other.test'],
  },
];

const isIpLiteral = (h: string): boolean => net.isIP(h.replace(/^\[|\]$/g, '')) !== 0;

/** Copies the fixture tree into `dir`, filling in the placeholders: every file as both proxies will read it. */
function writeFixture(dir: string, values: Record<string, string>): void {
  cpSync(FIXTURES, dir, { recursive: true });
  const walk = (d: string, top: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, top);
      else {
        let t = readFileSync(p, 'utf8').replaceAll('@DIR@', top);
        for (const [k, v] of Object.entries(values)) t = t.replaceAll(`@${k}@`, v);
        writeFileSync(p, t);
      }
    }
  };
  // @DIR@ is the fixture's own directory (where its list and included files are).
  for (const n of readdirSync(dir)) walk(join(dir, n), join(dir, n));
}

describe.skipIf(skipUnless({ root: true, commands: ['squid'] }))(
  'differential: real squid.conf files, Squid 5.7 and cuttle',
  () => {
    let http: Origin;
    let tlsServer: net.Server;
    let resolver: DeadResolver;
    let ports: { http: number; tls: number; closed: number };

    beforeAll(async () => {
      resolver = await startDeadResolver('127.0.0.154');
      http = await startOrigin();
      // A TCP server standing in for a TLS origin: CONNECT only needs the tunnel to open.
      tlsServer = net.createServer((s) => s.on('error', () => {}));
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      ports = {
        http: http.port,
        tls: (tlsServer.address() as net.AddressInfo).port,
        closed: await freeLoopbackPort(),
      };
    });
    afterAll(async () => {
      await http?.close();
      await new Promise<void>((r) => (tlsServer ? tlsServer.close(() => r()) : r()));
      await resolver?.close();
    });

    it.each(CASES)('$name: imports as written and decides like Squid', async (c) => {
      const dir = makeSquidDir();
      // Squid's close removes it too; this covers an import that fails before Squid starts.
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const tree = join(dir, 'conf');
      writeFixture(tree, {
        HTTP_PORT: String(ports.http),
        TLS_PORT: String(ports.tls),
        CLOSED_PORT: String(ports.closed),
      });
      const confPath = c.conf.startsWith('/') ? c.conf : join(tree, c.conf);
      const hostsFile = join(dir, 'hosts');
      // The first name of the line is what Squid's reverse lookup of 127.0.0.1 returns: one no ACL lists.
      writeFileSync(
        hostsFile,
        `127.0.0.1 unlisted.test ${c.hosts.filter((h) => !isIpLiteral(h)).join(' ')}\n`,
      );

      const args = ['import-squid', confPath, '--listen', '127.0.0.1'];
      if (c.root !== undefined) args.push('--root', join(tree, c.root));
      // The import (a CLI process) runs while Squid starts.
      const importing = execFileAsync(process.execPath, [CUTTLE_MAIN, ...args], { encoding: 'utf8' });

      let squidText = readFileSync(confPath, 'utf8');
      // --root: Squid itself has no such option; its copy names the files under the root (the only other rewrite).
      if (c.root !== undefined) {
        const root = join(tree, c.root);
        squidText = squidText.replaceAll(' /etc/', ` ${root}/etc/`).replaceAll('"/etc/', `"${root}/etc/`);
      }
      const { text: policy } = runtimeOnly(squidText);
      const confDir = confPath.slice(0, confPath.lastIndexOf('/'));
      execFileSync('chown', ['-R', 'proxy:proxy', dir]);
      await using squid = await startSquid(policy, {
        dir,
        cwd: existsSync(confDir) ? confDir : dir,
        nameserver: resolver.address,
        runtime: [`hosts_file ${hostsFile}`],
      });
      const imported = loadConfig((await importing).stdout, 'imported');
      const { listen: _l, log: _g, metrics: _m, dns: _d, destinations: _x, ...rest } = imported;
      await using cuttle = await startProxy({
        ...rest,
        dns: {
          hosts: {
            ...Object.fromEntries(
              c.hosts.filter((h) => !isIpLiteral(h)).map((h) => [h.toLowerCase(), ['127.0.0.1']]),
            ),
          },
        },
        destinations: { allow_ranges: c.guard ? [] : ['127.0.0.1/32', '::1/128'] },
      });

      const probes: ProbeRequest[] = [];
      for (const host of [...c.hosts, ...(c.unresolved ?? [])])
        for (const from of [IN, OUT]) {
          for (const port of [ports.http, ports.closed, 25]) probes.push({ method: 'GET', host, port, from });
          for (const port of [ports.tls, ports.closed, ports.http])
            probes.push({ method: 'CONNECT', host, port, from });
        }
      const fromSquid = await sendProbes(squid.port, probes);
      const fromCuttle = await sendProbes(cuttle.port, probes);
      const rows = probes.map((p, i) => ({
        probe: `${p.from} ${p.method} ${p.host}:${p.port}`,
        squid: verdictOf((fromSquid[i] as { status: number }).status),
        cuttle: verdictOf((fromCuttle[i] as { status: number }).status),
      }));
      // ip-literal-needs-dst: an allow line without a dst ACL allows IP literals in Squid, never in cuttle.
      const unexpected = rows.filter(
        (r, i) =>
          r.squid !== r.cuttle &&
          !(isIpLiteral((probes[i] as ProbeRequest).host) && r.squid === 'allow' && r.cuttle === 'deny'),
      );
      expect(unexpected).toEqual([]);
      // Not vacuous: Squid allows some of these requests and denies others.
      expect(rows.some((r) => r.squid === 'allow')).toBe(true);
      expect(rows.some((r) => r.squid === 'deny')).toBe(true);
    });

    it('lists its difference in docs/conformance.md', () => {
      const doc = readFileSync(new URL('../../../docs/conformance.md', import.meta.url), 'utf8');
      expect(doc).toContain('`ip-literal-needs-dst`');
    });
  },
);
