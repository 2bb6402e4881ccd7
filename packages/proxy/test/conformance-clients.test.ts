import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLinkLocalNetwork,
  IN_CI,
  type LinkLocalNetwork,
  missingNeeds,
  type ProxyProcess,
  skipUnless,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENTS,
  type ClientSpec,
  type FileOrigins,
  type Forwarder,
  makeDumbGitRepo,
  startFileOrigins,
  startForwarder,
} from '../../../test-support/clients.js';
import { createTestPki, type TestPki } from '../../../test-support/tls.js';

// Real clients inside a network namespace (the container stand-in ccf-ctr on bridge ccfbr0, fe80::1) reach cuttle
// through the zoned proxy URL, written both ways: `http://[fe80::1%eth0]:PORT` and `http://[fe80::1%25eth0]:PORT`.
// Each fetches from a loopback HTTP origin and, through CONNECT, a loopback HTTPS origin with a test CA. The table
// of which client accepts which form is asserted (a change in a client's behaviour fails this test) and written
// out in docs/conformance.md with the workaround for each client that fails.

/**
 * How the proxy is written in http_proxy/https_proxy: the zoned URL both ways, or `http://127.0.0.1:3128` served by a
 * forwarder inside the namespace (`socat` to `[fe80::1%eth0]:PORT`), the workaround for clients that take neither.
 */
type Form = '%eth0' | '%25eth0' | 'forwarder';
type Scheme = 'http' | 'https';
/** `ok`: the body arrived (and the origin saw the request); `fail`: anything else. */
type Outcome = 'ok' | 'fail';
type Row = Record<`${Form} ${Scheme}`, Outcome>;

const FORMS: readonly Form[] = ['%eth0', '%25eth0', 'forwarder'];
const FORWARDER_PORT = 3128;
const SCHEMES: readonly Scheme[] = ['http', 'https'];

/** A row from 'http https' outcome pairs per form, in FORMS order. */
function row(...perForm: [string, string, string]): Row {
  const out = {} as Row;
  perForm.forEach((pair, i) => {
    const [http, https] = pair.split(' ') as [Outcome, Outcome];
    out[`${FORMS[i] as Form} http`] = http;
    out[`${FORMS[i] as Form} https`] = https;
  });
  return out;
}

/** The recorded table (docs/conformance.md, "Real clients"). */
const EXPECTED: Record<string, Row> = {
  curl: row('ok ok', 'ok ok', 'ok ok'),
  // Zoned: "Error parsing proxy URL ...: Invalid IPv6 numeric address." for both forms.
  'GNU wget': row('fail fail', 'fail fail', 'ok ok'),
  // %25: "bad address". https: busybox 1.35 reads only http_proxy and sends `GET https://...` to it (no CONNECT);
  // cuttle accepts it and fetches it over verified TLS (forward.https_absolute_form, tls.ca_file). busybox
  // half-closes (shutdown SHUT_WR) after its request: the server allows half-open clients so the answer still goes.
  'busybox wget': row('ok ok', 'fail fail', 'ok ok'),
  'python3 urllib': row('ok ok', 'ok ok', 'ok ok'),
  // Zoned: ERR_PROXY_INVALID_CONFIG "Invalid proxy URL" (a WHATWG URL has no zone). Forwarder http: undici tunnels
  // http:// through CONNECT too, and CONNECT to the plain-HTTP port is connect_port_denied.
  'node 24 fetch (NODE_USE_ENV_PROXY=1)': row('fail fail', 'fail fail', 'fail ok'),
  // Zoned: "TypeError: Invalid URL", same cause; same CONNECT for http://.
  'node 20 undici EnvHttpProxyAgent': row('fail fail', 'fail fail', 'fail ok'),
  'git ls-remote': row('ok ok', 'ok ok', 'ok ok'),
  // %25: "Could not resolve 'fe80::1%25eth0'". Forwarder: apt will not resolve 127.0.0.1 in a namespace without
  // an IPv4 address of its own ("Address family for hostname not supported", AI_ADDRCONFIG).
  'apt-helper download-file': row('ok ok', 'fail fail', 'fail fail'),
};

const available = (c: ClientSpec): boolean => missingNeeds({ commands: [...c.needs] }) === null;

describe.skipIf(skipUnless({ root: true, commands: ['ip', 'ss', 'git', 'openssl', 'socat'] }))(
  'real clients through the zoned proxy URL',
  () => {
    let pki: TestPki;
    let dir: string;
    let caFile: string;
    let commit: string;
    let origins: FileOrigins;
    let net: LinkLocalNetwork | undefined;
    let proxy: ProxyProcess;
    let forwarder: Forwarder | undefined;

    beforeAll(async () => {
      pki = createTestPki();
      // Readable by apt's unprivileged _apt user, which also writes its download here.
      dir = mkdtempSync(join(tmpdir(), 'cuttle-clients-'));
      chmodSync(dir, 0o777);
      caFile = join(dir, 'ca.crt');
      writeFileSync(caFile, pki.ca, { mode: 0o644 });
      const leaf = pki.issue(['origin.test']);
      writeFileSync(join(dir, 'leaf.key'), leaf.key);
      writeFileSync(join(dir, 'leaf.crt'), leaf.cert);
      const root = join(dir, 'www');
      commit = makeDumbGitRepo(root);
      writeFileSync(join(root, 'hello.txt'), 'hello through cuttle\n');
      origins = await startFileOrigins({
        root,
        keyFile: join(dir, 'leaf.key'),
        certFile: join(dir, 'leaf.crt'),
      });
      net = createLinkLocalNetwork('ccf-ctr', 'ccfbr0');
      proxy = await startProxy({
        listen: ['ccfbr0:0'],
        clients: ['fe80::/10'],
        ports: [origins.httpPort, origins.httpsPort],
        connect_ports: [origins.httpsPort],
        allow: ['origin.test'],
        dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        // What an operator adds for origins signed by a private CA: busybox's https goes through cuttle's own TLS.
        tls: { ca_file: caFile },
      });
      expect(proxy.endpoints[0]).toMatch(/^\[fe80::1%ccfbr0\]:\d+$/);
      forwarder = await startForwarder(net.ns, FORWARDER_PORT, `TCP6:[fe80::1%eth0]:${proxy.port}`);
    });
    afterAll(async () => {
      await forwarder?.close();
      await proxy?.close();
      await origins?.close();
      net?.remove();
      pki?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Runs one client for one form and scheme; `ok` only when the body came back and the origin saw the request. */
    const runOne = async (
      client: ClientSpec,
      form: Form,
      scheme: Scheme,
      id: string,
    ): Promise<{ outcome: Outcome; detail: string }> => {
      const port = scheme === 'http' ? origins.httpPort : origins.httpsPort;
      const isGit = client.name.startsWith('git');
      const url = isGit
        ? `${scheme}://origin.test:${port}/repo.git`
        : `${scheme}://origin.test:${port}/hello.txt?${id}`;
      const expected = isGit ? commit : 'hello through cuttle';
      const cmd = client.command(url, {
        proxy:
          form === 'forwarder'
            ? `http://127.0.0.1:${FORWARDER_PORT}`
            : `http://[fe80::1${form}]:${proxy.port}`,
        caFile,
        workDir: dir,
      });
      const env = Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...cmd.env }).map(
        ([k, v]) => `${k}=${v}`,
      );
      let out = '';
      let detail = '';
      try {
        out = await net!.exec('env', ['-i', ...env, ...cmd.argv], 30_000);
        if (cmd.outFile !== undefined && existsSync(cmd.outFile)) out += readFileSync(cmd.outFile, 'utf8');
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        const lines = (e.stderr || e.message).split('\n').filter((l) => l.trim() !== '');
        detail = (
          lines.find((l) => /error|fail|invalid|bad|unable|refused/i.test(l)) ??
          lines.at(-1) ??
          ''
        ).trim();
      }
      const seen = isGit
        ? origins.requests.some((r) => r.startsWith(`${scheme} GET /repo.git/info/refs`))
        : origins.requests.includes(`${scheme} GET /hello.txt?${id}`);
      return { outcome: out.includes(expected) && seen ? 'ok' : 'fail', detail };
    };

    it('records which client accepts which proxy URL form', async () => {
      const clients = CLIENTS.filter((c) => {
        if (available(c)) return true;
        const why = `${c.name}: ${missingNeeds({ commands: [...c.needs] })}`;
        if (IN_CI) throw new Error(`CI=true and a client is missing: ${why}`);
        console.warn(`skipped client ${why}`);
        return false;
      });
      const jobs = clients.flatMap((c) =>
        FORMS.flatMap((f) =>
          SCHEMES.map((s) => ({ c, f, s, id: `${c.name}-${f}-${s}`.replace(/\W+/g, '-') })),
        ),
      );
      const results = new Map<string, { outcome: Outcome; detail: string }>();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const job = jobs[next++];
          if (job === undefined) return;
          results.set(`${job.c.name}|${job.f} ${job.s}`, await runOne(job.c, job.f, job.s, job.id));
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      const table: Record<string, Row> = {};
      for (const c of clients) {
        const row = {} as Row;
        for (const f of FORMS)
          for (const s of SCHEMES) row[`${f} ${s}`] = results.get(`${c.name}|${f} ${s}`)!.outcome;
        table[c.name] = row;
      }
      if (process.env.CCF_PRINT) {
        for (const [k, v] of results) console.log(`${k}\t${v.outcome}\t${v.detail}`);
        for (const r of proxy.accessLog()) if (r.status !== 200) console.log(JSON.stringify(r));
      }
      const expected = Object.fromEntries(clients.map((c) => [c.name, EXPECTED[c.name]]));
      expect(table).toEqual(expected);
      // Every request that reached an origin went through the proxy from the namespace's link-local address.
      const records = proxy.accessLog();
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) expect(String(r.client)).toMatch(/^fe80::.*%ccfbr0$/);
    }, 240_000);

    it('docs/conformance.md holds the recorded table', () => {
      // Cell padding is the formatter's business: compare with runs of spaces collapsed.
      const doc = readFileSync(new URL('../../../docs/conformance.md', import.meta.url), 'utf8').replace(
        / +/g,
        ' ',
      );
      for (const [name, r] of Object.entries(EXPECTED)) {
        const cells = FORMS.flatMap((f) => SCHEMES.map((sch) => r[`${f} ${sch}`]));
        expect(doc).toContain(`| ${name} | ${cells.join(' | ')} |`);
      }
    });
  },
);
