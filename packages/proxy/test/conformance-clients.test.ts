import { readFileSync } from 'node:fs';
import {
  createLinkLocalNetwork,
  type LinkLocalNetwork,
  type ProxyProcess,
  skipUnless,
  startProxy,
} from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientWorld,
  installedClients,
  type Outcome,
  runClient,
  SCHEMES,
  type Scheme,
  startClientWorld,
} from '../../../test-support/client-table.js';
import { type Forwarder, startForwarder } from '../../../test-support/clients.js';

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
type Row = Record<`${Form} ${Scheme}`, Outcome>;

const FORMS: readonly Form[] = ['%eth0', '%25eth0', 'forwarder'];
const FORWARDER_PORT = 3128;

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

describe.skipIf(skipUnless({ root: true, commands: ['ip', 'ss', 'git', 'openssl', 'socat'] }))(
  'real clients through the zoned proxy URL',
  () => {
    let world: ClientWorld;
    let net: LinkLocalNetwork | undefined;
    let proxy: ProxyProcess;
    let forwarder: Forwarder | undefined;

    beforeAll(async () => {
      world = await startClientWorld('cuttle-clients-');
      const { origins } = world;
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
        tls: { ca_file: world.caFile },
      });
      expect(proxy.endpoints[0]).toMatch(/^\[fe80::1%ccfbr0\]:\d+$/);
      forwarder = await startForwarder(net.ns, FORWARDER_PORT, `TCP6:[fe80::1%eth0]:${proxy.port}`);
    });
    afterAll(async () => {
      await forwarder?.close();
      await proxy?.close();
      net?.remove();
      await world?.close();
    });

    it('records which client accepts which proxy URL form', async () => {
      const clients = installedClients();
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
          const url =
            job.f === 'forwarder'
              ? `http://127.0.0.1:${FORWARDER_PORT}`
              : `http://[fe80::1${job.f}]:${proxy.port}`;
          const exec = (env: string[], argv: readonly string[], ms: number) =>
            net!.exec('env', ['-i', ...env, ...argv], ms);
          results.set(
            `${job.c.name}|${job.f} ${job.s}`,
            await runClient(world, job.c, job.s, job.id, url, exec),
          );
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
