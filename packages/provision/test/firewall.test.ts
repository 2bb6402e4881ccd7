import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from '@cuttle/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderGuardElements } from '../src/guard/guard-sets.js';
import { hostConfigSchema } from '../src/host-config/schema.js';
import { renderNftables } from '../src/render/nftables.js';
import {
  bridgeClientNic,
  createFirewallNetns,
  FW_BRIDGE,
  FW_HOST_NS,
  nftInHost,
  nftScriptInHost,
  probeTcp,
  probeUdp53,
  removeFirewallNetns,
  startHostListeners,
} from './helpers/fw-netns.js';

const PROXY_PORT = 13128;
const OTHER_PORT = 13022;
const config = hostConfigSchema.parse({
  bridge: { name: FW_BRIDGE },
  proxy: { port: PROXY_PORT },
  firewall: { table: 'cpv_fw' },
});

describe.skipIf(skipUnless({ root: true, commands: ['nft', 'ip'] }))('the nftables table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpv-nft-'));
  const file = join(dir, 'cuttle.nft');
  let listeners: ChildProcess | undefined;

  beforeAll(async () => {
    writeFileSync(file, renderNftables(config));
    createFirewallNetns();
    listeners = await startHostListeners([PROXY_PORT, 53, OTHER_PORT]);
  });
  afterAll(() => {
    listeners?.kill();
    removeFirewallNetns();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes nft -c, and a broken table does not', () => {
    expect(spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' }).status).toBe(0);
    const bad = join(dir, 'bad.nft');
    writeFileSync(bad, renderNftables(config).replace('tcp dport', 'tcp dportx'));
    expect(spawnSync('nft', ['-c', '-f', bad], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it('without the table everything on the host answers from the bridge (the probes can see it)', async () => {
    expect(await probeTcp('bridge', PROXY_PORT)).toBe('open');
    expect(await probeTcp('bridge', 53)).toBe('open');
    expect(await probeUdp53()).toBe('open');
    expect(await probeTcp('bridge', OTHER_PORT)).toBe('open');
    expect(await probeTcp('other', PROXY_PORT)).toBe('open');
  });

  it('loaded, lets the proxy port through from the bridge and drops DNS, another port and the proxy port elsewhere', async () => {
    nftInHost(['-f', file]);
    // The bridge guard lets through only the NICs it knows: the bridge client's (bridge-guard.test.ts covers it).
    nftScriptInHost(renderGuardElements('cpv_fw', [bridgeClientNic()]));
    const table: [string, () => Promise<string>, string][] = [
      ['proxy port from the bridge', () => probeTcp('bridge', PROXY_PORT), 'open'],
      ['DNS over TCP from the bridge', () => probeTcp('bridge', 53), 'closed'],
      ['DNS over UDP from the bridge', () => probeUdp53(), 'closed'],
      ['another port from the bridge', () => probeTcp('bridge', OTHER_PORT), 'closed'],
      ['proxy port from another interface holding fe80::1', () => probeTcp('other', PROXY_PORT), 'closed'],
    ];
    const seen: [string, string][] = [];
    for (const [name, probe] of table) seen.push([name, await probe()]);
    expect(seen).toEqual(table.map(([name, , want]) => [name, want]));
    // Loading again replaces the table atomically (no duplicate rules, no error).
    nftInHost(['-f', file]);
    const listed = execFileSync(
      'ip',
      ['netns', 'exec', FW_HOST_NS, 'nft', 'list', 'table', 'inet', 'cpv_fw'],
      {
        encoding: 'utf8',
      },
    );
    expect(listed.match(/jump from_bridge/g)).toHaveLength(1);
  });
});
