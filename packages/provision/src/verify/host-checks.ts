/**
 * `verify` on the live host: the bridge has no IPv4 and no IPv6 beyond link-local, IPv6 is on with the expected
 * address, no NAT or forwarding for it, the firewall table is loaded, the proxy listens only on the bridge's fe80
 * address, the profile keys are set, and LXD itself is not on the network (`core.https_address` unset). The bridge
 * checks run in bridge mode only; with a socket-mode profile cuttle must also answer on its unix socket.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type HostConfig, managedProfiles, usesBridge, usesSocket } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { bridgeAddress } from '../render/proxy-url.js';
import type { HostFacts } from '../resources/facts.js';
import { planProfile } from '../resources/profile.js';
import { type CheckResult, check } from './check.js';
import { guardHostChecks } from './guard-checks.js';
import { socketHostChecks } from './socket-checks.js';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function sysctl(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** Every host check, in order. */
export async function hostChecks(
  client: LxdClient,
  config: HostConfig,
  facts: HostFacts,
): Promise<CheckResult[]> {
  const out = usesBridge(config) ? await bridgeChecks(client, config) : [];
  if (usesBridge(config) && config.firewall.load) out.push(...(await guardHostChecks(config, facts)));
  if (usesSocket(config)) out.push(...(await socketHostChecks(config)));
  for (const p of managedProfiles(config)) {
    out.push(
      await check(`profile ${p.name} keys set`, async () => {
        const plan = planProfile(facts, config, p);
        return [
          plan.action === 'none',
          plan.action === 'none' ? 'as declared' : plan.changes.map((c) => c.key).join(', '),
        ];
      }),
    );
  }
  out.push(
    await check('LXD is not on the network', async () => {
      const a = (await client.server()).config['core.https_address'];
      return [
        a === undefined || a === '',
        a ? `core.https_address=${String(a)}` : 'core.https_address unset',
      ];
    }),
  );
  return out;
}

/** The bridge, its firewall table and the proxy's listener on it. */
async function bridgeChecks(client: LxdClient, config: HostConfig): Promise<CheckResult[]> {
  const br = config.bridge.name;
  const addr = bridgeAddress(config);
  const port = config.proxy.port;
  const out: CheckResult[] = [];
  let lxdConfig: Record<string, string> = {};
  out.push(
    await check('bridge is an LXD bridge', async () => {
      const n = await client.getOrNull<{ type: string; managed: boolean; config: Record<string, string> }>(
        `/1.0/networks/${encodeURIComponent(br)}`,
      );
      if (n === null) return [false, `${br} does not exist`];
      lxdConfig = n.metadata.config;
      return [n.metadata.type === 'bridge' && n.metadata.managed, `${br}: ${n.metadata.type}`];
    }),
  );
  out.push(
    await check('bridge has no IPv4', () => {
      const v4 = run('ip', ['-4', '-o', 'addr', 'show', 'dev', br]).trim();
      return [v4 === '' && lxdConfig['ipv4.address'] === 'none', v4 === '' ? 'none' : v4];
    }),
  );
  out.push(
    await check(`bridge IPv6 is on with ${config.bridge.address}`, () => {
      const disabled = sysctl(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`);
      const v6 = run('ip', ['-6', '-o', 'addr', 'show', 'dev', br]);
      const has = v6.includes(`inet6 ${config.bridge.address} scope link`);
      return [
        disabled === '0' && has,
        `disable_ipv6=${disabled}, ${has ? 'address present' : 'address missing'}`,
      ];
    }),
  );
  out.push(
    await check('bridge IPv6 is link-local only', () => {
      const v6 = run('ip', ['-6', '-o', 'addr', 'show', 'dev', br]).trim().split('\n').filter(Boolean);
      const other = v6.filter((l) => !/ scope link/.test(l));
      return [other.length === 0, other.length === 0 ? `${v6.length} link-local` : other.join('; ')];
    }),
  );
  out.push(
    await check('no NAT or forwarding for the bridge', () => {
      const fwd = sysctl(`/proc/sys/net/ipv6/conf/${br}/forwarding`);
      const bad = ['ipv4.nat', 'ipv6.nat', 'ipv6.routing'].filter((k) => lxdConfig[k] === 'true');
      return [
        fwd === '0' && bad.length === 0,
        `ipv6 forwarding=${fwd}${bad.length ? `, ${bad.join(', ')} true` : ''}`,
      ];
    }),
  );
  out.push(
    await check(`firewall table inet ${config.firewall.table} loaded`, () => {
      let listed: string;
      try {
        listed = run('nft', ['list', 'table', 'inet', config.firewall.table]);
      } catch {
        return [false, 'not loaded'];
      }
      const ok = listed.includes(`iifname "${br}" jump from_bridge`);
      return [ok, ok ? 'loaded' : `loaded, but does not filter ${br}`];
    }),
  );
  out.push(
    await check(`proxy listens only on [${addr}%${br}]:${port}`, () => {
      const lines = run('ss', ['-Hltnp', `sport = :${port}`])
        .trim()
        .split('\n')
        .filter(Boolean);
      const locals = lines.map((l) => l.split(/\s+/)[3] ?? '');
      const want = `[${addr}]%${br}:${port}`;
      const ok = locals.length > 0 && locals.every((l) => l === want);
      // A listener that should not be there is named with its process (`ss -p`), so the finding says who.
      const shown = lines.map((l, i) => {
        const local = locals[i] ?? '';
        const owner = /users:\(\("([^"]*)",pid=(\d+)/.exec(l);
        return local === want || owner === null ? local : `${local} (${owner[1]} pid ${owner[2]})`;
      });
      return [ok, locals.length === 0 ? 'nothing listens on the port' : shown.join(', ')];
    }),
  );
  return out;
}
