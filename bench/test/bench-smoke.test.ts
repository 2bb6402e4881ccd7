/**
 * Smoke tests of the bench CLI: each command runs end to end in its quick mode and prints JSON with the rows the
 * README's tables are made of. No speed is asserted (speed goals are read from the bench's output, not tested).
 * Needs `pnpm build` first: the compiled CLI is what runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { skipUnless } from '@cuttle/test-support';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CUTTLE = fileURLToPath(new URL('../../packages/proxy/dist/cli/main.js', import.meta.url));

async function bench(args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [MAIN, ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

interface Summary {
  median: number;
  min: number;
  n: number;
}

describe('pnpm bench allowlist --json', () => {
  it('prints one row per list size, cuttle and the naive baseline agreeing on every sampled verdict', async () => {
    expect(existsSync(MAIN), 'run `pnpm build` first').toBe(true);
    const report = await bench(['allowlist', '--json', '--quick', '--sizes', '10,1000'], 60_000);
    expect(report.bench).toBe('allowlist');
    const rows = report.rows as {
      rules: number;
      mix: { exact: number; suffix: number; glob: number };
      cuttle: { nsPerDecision: Summary; bytesPerDecision: number };
      naive: { nsPerDecision: Summary };
      speedup: number;
      cuttleRoundsNs: number[];
      disagreements: number;
    }[];
    expect(rows.map((r) => r.rules)).toEqual([10, 1000]);
    for (const r of rows) {
      expect(r.mix.exact + r.mix.suffix + r.mix.glob).toBe(r.rules);
      expect(r.cuttle.nsPerDecision.n).toBe(2);
      // The rounds the 100k goal pairs: one figure per round, in order, the median's own inputs.
      expect(r.cuttleRoundsNs).toHaveLength(2);
      expect([...r.cuttleRoundsNs].sort((a, b) => a - b)[0]).toBe(r.cuttle.nsPerDecision.min);
      expect(Number.isFinite(r.cuttle.nsPerDecision.median)).toBe(true);
      expect(Number.isFinite(r.naive.nsPerDecision.median)).toBe(true);
      expect(Number.isFinite(r.cuttle.bytesPerDecision)).toBe(true);
      expect(r.disagreements).toBe(0);
    }
    const goals = report.goals as { goal: string }[];
    expect(goals.some((g) => g.goal.includes('naive'))).toBe(false); // no 10k row in this run, so no 10k goal
  });

  it('rejects an unknown command with usage and exit code 2', async () => {
    await expect(run(process.execPath, [MAIN, 'nope'])).rejects.toMatchObject({ code: 2 });
  });
});

describe('bench/dist/micro/socket-options.js --json', () => {
  it("prints this Node's ns per new net.Socket for both option forms", async () => {
    const script = fileURLToPath(new URL('../dist/micro/socket-options.js', import.meta.url));
    const { stdout } = await run(process.execPath, [script, '--json'], { timeout: 120_000 });
    const r = JSON.parse(stdout) as { node: string; beforeNs: number; afterNs: number };
    expect(r.node).toBe(process.version);
    for (const ns of [r.beforeNs, r.afterNs]) {
      expect(Number.isFinite(ns)).toBe(true);
      expect(ns).toBeGreaterThan(0);
    }
  });
});

const needs = {
  root: true,
  commands: ['nginx', 'squid', 'tinyproxy', 'wrk', 'taskset', 'unshare', 'openssl'],
};

describe('the tunnel worker (bench/dist/e2e/load/tunnel-worker.js)', () => {
  it('runs set-up loops and bulk transfers on command in its own process, with its own CPU', async () => {
    const { workerRunner } = (await import(
      fileURLToPath(new URL('../dist/e2e/load/tunnel-workers.js', import.meta.url))
    )) as typeof import('../src/e2e/load/tunnel-workers.js');
    // The tunnel origin's PING/PONG, answered straight (no proxy: the direct baseline's shape).
    const pings: number[] = [];
    const origin = createServer((s) => {
      s.on('error', () => {});
      s.once('data', (d: Buffer) => {
        const bulk = /^BULK (\d+)\n$/.exec(d.toString());
        if (bulk) {
          s.end(Buffer.alloc(Number(bulk[1]), 0x61));
          return;
        }
        if (d.toString() === 'PING\n') pings.push(1);
        s.end('PONG\n');
      });
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const port = (origin.address() as AddressInfo).port;
    const runner = workerRunner();
    try {
      const r = await runner.setups({ proxyPort: null, host: '127.0.0.1', port }, false, 2, 0.3);
      expect(r.errors).toBe(0);
      expect(r.completed).toBeGreaterThan(10);
      expect(pings.length).toBe(r.completed);
      expect(r.cpuSeconds).toBeGreaterThan(0);
      const bulk = await runner.bulk({ proxyPort: null, host: '127.0.0.1', port }, false, 3 << 20);
      expect(bulk.bytes).toBe(3 << 20);
      expect(bulk.mibPerSec).toBeGreaterThan(0);
      // A second command on the same worker; a closed port counts errors instead of throwing.
      origin.close();
      const refused = await runner.setups({ proxyPort: null, host: '127.0.0.1', port }, false, 1, 0.1);
      expect(refused.completed).toBe(0);
      expect(refused.errors).toBeGreaterThan(0);
      await expect(runner.bulk({ proxyPort: null, host: '127.0.0.1', port }, false, 1024)).rejects.toThrow(
        /tunnel worker: .*ECONNREFUSED/,
      );
    } finally {
      runner.close();
      origin.close();
    }
  }, 30_000);
});

describe.skipIf(skipUnless(needs))('pnpm bench e2e --quick --json', () => {
  it('measures every section for the baseline, Squid and cuttle on Node 20, with no failed request', async () => {
    expect(existsSync(CUTTLE), 'run `pnpm build` first').toBe(true);
    const report = await bench(['e2e', '--quick', '--json'], 280_000);
    expect(report.bench).toBe('e2e');
    const targets = report.targets as { name: string; ok: boolean; error?: string }[];
    expect(targets.map((t) => t.name)).toEqual([
      'direct',
      'squid',
      'tinyproxy',
      'proxy-chain',
      'cuttle-node20',
      'cuttle-node24',
    ]);
    for (const t of targets) if (!t.ok) expect(t.error, `${t.name} has no reason`).toMatch(/\S/);
    const must = ['direct', 'squid', 'cuttle-node20'];
    for (const name of must) expect(targets.find((t) => t.name === name)?.ok, `${name}`).toBe(true);

    const rps = report.rps as { target: string; reqPerSec: Summary; cpuUsPerReq: Summary; errors: number }[];
    for (const t of targets)
      if (t.ok)
        expect(
          rps.some((r) => r.target === t.name),
          t.name,
        ).toBe(true);
    for (const name of must) {
      const row = rps.find((r) => r.target === name);
      expect(row?.reqPerSec.n).toBe(1);
      expect(row?.errors).toBe(0);
      if (name !== 'direct') expect(Number.isFinite(row?.cpuUsPerReq.median)).toBe(true);
    }
    const latency = report.latency as {
      rate: number;
      rows: { target: string; p99Ms: Summary; errors: number }[];
    };
    expect(latency.rate).toBeGreaterThan(0);
    for (const name of must) expect(latency.rows.find((r) => r.target === name)?.errors).toBe(0);

    const mix = report.mix as { target: string; deniedShare: number }[];
    for (const name of ['squid', 'cuttle-node20']) {
      const share = mix.find((r) => r.target === name)?.deniedShare ?? -1;
      expect(share, name).toBeGreaterThan(0.15);
      expect(share, name).toBeLessThan(0.25);
    }
    const connect = report.connect as {
      target: string;
      tlsBulkMiBps: Summary;
      rawSetupPerSec: Summary;
      rawSetupCost: { loadCpuPct: Summary };
      tlsSetupCost: { loadUs: Summary };
      errors: number;
    }[];
    for (const name of must) {
      const row = connect.find((r) => r.target === name);
      expect(row?.errors, name).toBe(0);
      expect(row?.tlsBulkMiBps.n, name).toBe(1);
      expect(row?.rawSetupPerSec.median, name).toBeGreaterThan(0);
      // The set-up loops run in worker processes: their CPU is counted as load, so it cannot be near zero.
      expect(row?.rawSetupCost.loadCpuPct.median, name).toBeGreaterThan(10);
      expect(row?.tlsSetupCost.loadUs.median, name).toBeGreaterThan(0);
    }
    const idle = report.idle as { target: string; requested: number; opened: number }[];
    for (const name of ['squid', 'cuttle-node20']) {
      const row = idle.find((r) => r.target === name);
      expect(row?.opened, name).toBe(row?.requested);
    }
    expect((report.goals as unknown[]).length).toBeGreaterThan(0);
  }, 300_000);
});
