/**
 * The client table of the conformance issue, re-run in socket mode: a network namespace with only `lo` (the
 * container of socket mode) where `socat` carries 127.0.0.1:3128 to cuttle's unix socket, as LXD's proxy device
 * does. Every client gets `http_proxy=http://127.0.0.1:3128` (and the other spellings) and fetches from a loopback
 * HTTP origin and, through CONNECT, a loopback HTTPS origin with a test CA. The table is asserted (a change in a
 * client's behaviour fails this test) and written out in docs/socket-mode.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type ProxyProcess, skipUnless, startProxy } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientWorld,
  clientAvailable,
  installedClients,
  type Outcome,
  runClient,
  SCHEMES,
  type Scheme,
  startClientWorld,
} from '../../../test-support/client-table.js';
import { CLIENTS, type ClientSpec, type Forwarder, startForwarder } from '../../../test-support/clients.js';

const NS = 'csk-ctr';
/** The port LXD's proxy device listens on inside a socket-mode container. */
const RELAY_PORT = 3128;
const PROXY_URL = `http://127.0.0.1:${RELAY_PORT}`;

type Row = Record<Scheme, Outcome>;

const row = (http: Outcome, https: Outcome): Row => ({ http, https });

/**
 * The recorded table (docs/socket-mode.md), with the policy an operator writes so that every client works: the
 * HTTP port in `connect_ports` and `connect.http_ports` (Node), and the test CA in `tls.ca_file` (busybox).
 */
const EXPECTED: Record<string, Row> = {
  curl: row('ok', 'ok'),
  'GNU wget': row('ok', 'ok'),
  // https: busybox 1.35 reads only http_proxy and sends `GET https://...` to it (no CONNECT); cuttle accepts it and
  // fetches it over verified TLS (forward.https_absolute_form, tls.ca_file). busybox half-closes (shutdown SHUT_WR)
  // after its request: the server allows half-open clients so the answer still reaches it.
  'busybox wget': row('ok', 'ok'),
  'python3 urllib': row('ok', 'ok'),
  // http: undici tunnels http:// through CONNECT too; the tunnel to a connect.http_ports port is checked by the
  // first request's Host instead of the SNI.
  'node 24 fetch (NODE_USE_ENV_PROXY=1)': row('ok', 'ok'),
  'node 20 undici EnvHttpProxyAgent': row('ok', 'ok'),
  'git ls-remote': row('ok', 'ok'),
  'apt-helper download-file': row('ok', 'ok'),
};

const available = clientAvailable;

/** Runs argv inside the namespace with exactly `env`; resolves with stdout, rejects with stderr. */
function execInNs(env: string[], argv: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', NS, 'env', '-i', ...env, ...argv],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err === null) resolve(stdout);
        else reject(Object.assign(new Error(err.message), { stderr }));
      },
    );
  });
}

describe.skipIf(skipUnless({ root: true, commands: ['ip', 'ss', 'git', 'openssl', 'socat'] }))(
  'real clients in a namespace with only lo, through a relay to the unix socket',
  () => {
    let world: ClientWorld;
    let origins: ClientWorld['origins'];
    let proxy: ProxyProcess;
    let relay: Forwarder | undefined;
    let nsMade = false;

    beforeAll(async () => {
      world = await startClientWorld('csk-clients-');
      origins = world.origins;
      const sock = join(world.dir, 'ctr.sock');
      proxy = await startProxy({
        listen: [`unix:${sock}`],
        ports: [origins.httpPort, origins.httpsPort],
        connect_ports: [origins.httpsPort, origins.httpPort],
        connect: { http_ports: [origins.httpPort] },
        allow: ['origin.test'],
        dns: { hosts: { 'origin.test': ['127.0.0.1'] } },
        destinations: { allow_ranges: ['127.0.0.1/32'] },
        tls: { ca_file: world.caFile },
      });
      execFileSync('ip', ['netns', 'add', NS]);
      nsMade = true;
      execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
      relay = await startForwarder(NS, RELAY_PORT, `UNIX-CONNECT:${sock}`);
    }, 60_000);
    afterAll(async () => {
      await relay?.close();
      if (nsMade) execFileSync('ip', ['netns', 'del', NS]);
      await proxy?.close();
      await world?.close();
    });

    it('the namespace has only lo', () => {
      const out = execFileSync('ip', ['netns', 'exec', NS, 'ip', '-o', 'link'], { encoding: 'utf8' });
      expect(out.trim().split('\n')).toHaveLength(1);
      expect(out).toMatch(/^1: lo:/);
    });

    it('records which client works through http://127.0.0.1:3128', async () => {
      const clients = installedClients();
      const table: Record<string, Row> = {};
      const details: string[] = [];
      for (const c of clients) {
        const r = {} as Row;
        for (const s of SCHEMES) {
          const id = `${c.name}-${s}`.replace(/\W+/g, '-');
          const res = await runClient(world, c, s, id, PROXY_URL, (env, argv, ms) => execInNs(env, argv, ms));
          r[s] = res.outcome;
          if (res.outcome === 'fail') details.push(`${c.name} ${s}: ${res.detail}`);
        }
        table[c.name] = r;
      }
      const lines = [
        '| client | http | https |',
        '| --- | --- | --- |',
        ...Object.entries(table).map(([name, r]) => `| ${name} | ${r.http} | ${r.https} |`),
      ];
      console.log(`${lines.join('\n')}\n\n${details.join('\n')}`);
      const expected = Object.fromEntries(clients.map((c) => [c.name, EXPECTED[c.name]]));
      expect(table).toEqual(expected);
      // Every request reached cuttle as the socket's identity.
      const clientsSeen = new Set(proxy.accessLog().map((l) => l.client));
      expect([...clientsSeen]).toEqual(['unix:ctr']);
    }, 600_000);

    it('Node reached the plain-HTTP origin through a Host-checked CONNECT tunnel; busybox https reached cuttle as absolute-form', () => {
      const log = proxy.accessLog();
      const tunnels = log.filter((l) => l.method === 'CONNECT' && l.port === origins.httpPort);
      const node = CLIENTS.filter((c) => c.name.startsWith('node') && available(c));
      if (node.length > 0) expect(tunnels.some((l) => l.verdict === 'allow' && l.status === 200)).toBe(true);
      expect(tunnels.filter((l) => l.verdict !== 'allow')).toEqual([]);
      // busybox's `GET https://...` is allowed and sent over TLS by cuttle (the origin saw it).
      const busybox = log.filter((l) => l.method === 'GET' && l.port === origins.httpsPort);
      if (available(CLIENTS.find((c) => c.name === 'busybox wget') as ClientSpec)) {
        expect(busybox.some((l) => l.verdict === 'allow')).toBe(true);
        expect(origins.requests.some((r) => r.startsWith('https GET /hello.txt?busybox-wget-https'))).toBe(
          true,
        );
      }
    });
  },
);
