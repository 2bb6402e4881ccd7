/**
 * `verify --instance NAME`: from inside the container (busybox applets through the exec API) — no default route,
 * the proxy URL answers, nothing else on the host answers from the bridge (DNS on 53 over UDP and TCP, and every
 * `--port`), and a direct connection to the host's other addresses fails. An instance without a NIC is in socket
 * mode: its checks are in socket-checks.ts (only `lo`, the proxy device answers, a denied name gets 403).
 * busybox 1.35 wget segfaults with `-T`, so time limits come from `timeout`.
 */
import { networkInterfaces } from 'node:os';
import type { HostConfig } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { execInInstance } from '../lxd/exec.js';
import { bridgeAddress, containerProxyUrl } from '../render/proxy-url.js';
import type { HostFacts } from '../resources/facts.js';
import { type CheckResult, check } from './check.js';
import { guardInstanceChecks } from './guard-checks.js';
import { socketInstanceChecks } from './socket-checks.js';

export interface InstanceCheckOptions {
  /** Extra TCP ports that must not answer on the bridge address (e.g. one the test opens on [::]). */
  readonly ports?: readonly number[];
  /** An allowed URL to fetch through the proxy (2xx expected); default: any answer from the proxy. */
  readonly url?: string;
  /** The host's facts: with them (and `firewall.load`), the bridge guard is checked from inside too. */
  readonly facts?: HostFacts;
}

/** Host addresses a container must not reach directly: everything but loopback and link-local. */
function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) out.push(a.address);
  return out.slice(0, 6);
}

/** `timeout 4 nc TARGET PORT`: 'open' when it connected, else the reason. */
async function tcpProbe(client: LxdClient, name: string, host: string, port: number): Promise<string> {
  const r = await execInInstance(client, name, ['timeout', '4', 'nc', '-w', '3', host, String(port)]);
  const err = r.stderr.trim();
  if (/can't connect|timed out|unreachable|refused/i.test(err)) return err.replace(/^nc: /, '');
  return r.code === 0 || r.code === 143 || r.code === 124 ? 'open' : `exit ${r.code} ${err}`;
}

/** Every check from inside instance `name`. */
export async function instanceChecks(
  client: LxdClient,
  config: HostConfig,
  name: string,
  options: InstanceCheckOptions = {},
): Promise<CheckResult[]> {
  const nic = config.profile.nic;
  const ll = `${bridgeAddress(config)}%${nic}`;
  const url = containerProxyUrl(config, 'bridge');
  const out: CheckResult[] = [];
  out.push(
    await check(`${name}: running`, async () => {
      const s = await client.request<{ status: string }>(
        'GET',
        `/1.0/instances/${encodeURIComponent(name)}/state`,
      );
      return [s.metadata.status === 'Running', s.metadata.status];
    }),
  );
  const inst = await client.request<{ expanded_devices: Record<string, Record<string, string>> }>(
    'GET',
    `/1.0/instances/${encodeURIComponent(name)}`,
  );
  const socketMode = !Object.values(inst.metadata.expanded_devices ?? {}).some((d) => d.type === 'nic');
  out.push(
    await check(`${name}: no default route`, async () => {
      const r4 = await execInInstance(client, name, ['ip', '-4', 'route', 'show', 'default']);
      const r6 = await execInInstance(client, name, ['ip', '-6', 'route', 'show', 'default']);
      const routes = `${r4.stdout}${r6.stdout}`.trim();
      return [r4.code === 0 && r6.code === 0 && routes === '', routes === '' ? 'none' : routes];
    }),
  );
  if (socketMode) {
    out.push(...(await socketInstanceChecks(client, config, name, options.url)));
    out.push(...(await directChecks(client, name, config.socket.port)));
    return out;
  }
  out.push(
    await check(`${name}: proxy answers at ${url}`, async () => {
      const target = options.url ?? 'http://cuttle-verify.invalid/';
      const r = await execInInstance(
        client,
        name,
        ['timeout', '10', 'wget', '-S', '-O', '/dev/null', target],
        {
          http_proxy: url,
          https_proxy: url,
        },
      );
      const status = /HTTP\/1\.[01] (\d{3})/.exec(r.stderr)?.[1];
      if (options.url !== undefined)
        return [r.code === 0 && status?.startsWith('2') === true, `${target}: ${status ?? r.stderr.trim()}`];
      return [status !== undefined, status === undefined ? r.stderr.trim() : `proxy answered ${status}`];
    }),
  );
  out.push(
    await check(`${name}: no DNS over UDP from the bridge`, async () => {
      const r = await execInInstance(client, name, [
        'timeout',
        '6',
        'nslookup',
        '-timeout=2',
        '-retry=1',
        'cuttle.invalid',
        ll,
      ]);
      const text = `${r.stdout}${r.stderr}`.trim();
      const silent = /no servers could be reached|timed out|refused/i.test(text) || r.code === 143;
      return [silent, silent ? 'no answer' : `answered: ${text.split('\n')[0]}`];
    }),
  );
  if (options.facts !== undefined && config.firewall.load)
    out.push(...(await guardInstanceChecks(client, config, options.facts, name)));
  for (const port of [53, 22, ...(options.ports ?? [])]) {
    out.push(
      await check(`${name}: nothing answers on [${ll}]:${port}/tcp`, async () => {
        const res = await tcpProbe(client, name, ll, port);
        return [res !== 'open', res];
      }),
    );
  }
  out.push(...(await directChecks(client, name, config.proxy.port)));
  return out;
}

/** No direct connection from instance `name` to the host's other addresses on `port`. */
async function directChecks(client: LxdClient, name: string, port: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const addr of hostAddresses()) {
    out.push(
      await check(`${name}: no direct connection to ${addr}`, async () => {
        const res = await tcpProbe(client, name, addr, port);
        return [res !== 'open', res];
      }),
    );
  }
  return out;
}
