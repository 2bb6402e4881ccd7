/** The e2e report: its JSON shape (`e2e --json`) and the markdown tables printed without --json. */
import { formatNumber, formatRatio, formatSummary, markdownTable } from '../report/format.js';
import { formatMachine, type MachineInfo } from '../report/machine.js';
import { type Summary, spreadPercent } from '../report/stats.js';

export interface TargetInfo {
  readonly name: string;
  readonly note: string;
  readonly ok: boolean;
  readonly error?: string;
  /** Times the target's process died during the run (it was restarted each time). */
  readonly crashes?: number;
  readonly lastCrash?: string;
}

export interface RpsRow {
  readonly target: string;
  readonly reqPerSec: Summary;
  /** Proxy CPU (user + system, all its processes) per request; empty for `direct`. */
  readonly cpuUsPerReq: Summary;
  /** Non-2xx answers and socket errors over all rounds (0 expected). */
  readonly errors: number;
  /** req/s and CPU per request over Squid's of the same round, summarised over the rounds (absent without Squid). */
  readonly rpsVsSquid?: Summary;
  readonly cpuVsSquid?: Summary;
}

/** `median (min-max)`, whole numbers; `-` when absent (a wait near 0 makes a ± percentage meaningless). */
function formatRange(s: Summary | undefined): string {
  if (s === undefined || s.n === 0 || !Number.isFinite(s.median)) return '-';
  const m = formatNumber(s.median, 0);
  return s.n > 1 ? `${m} (${formatNumber(s.min, 0)}-${formatNumber(s.max, 0)})` : m;
}

export interface LatencyRow {
  readonly target: string;
  readonly p50Ms: Summary;
  readonly p99Ms: Summary;
  readonly maxMs: number;
  readonly errors: number;
  /**
   * Milliseconds per second of the run that the proxy's main thread (`proxyWait`, summed over its processes) and the
   * generator's (`loadWait`, the bench process) were runnable but waited for their CPU: other load on the machine,
   * which sets most of a p99 (absent in reports from before 2026-12-02).
   */
  readonly proxyWaitMsPerS?: Summary;
  readonly loadWaitMsPerS?: Summary;
}

export interface MixRow {
  readonly target: string;
  readonly reqPerSec: Summary;
  readonly cpuUsPerReq: Summary;
  /** Share of answers that were not 2xx (0.2 expected). */
  readonly deniedShare: number;
  readonly socketErrors: number;
  readonly rpsVsSquid?: Summary;
  readonly cpuVsSquid?: Summary;
}

export interface ConnectRow {
  readonly target: string;
  readonly tlsBulkMiBps: Summary;
  readonly rawBulkMiBps: Summary;
  /** The proxy's CPU use (% of one CPU) during the bulk transfers; empty for `direct`. */
  readonly tlsBulkCpuPct: Summary;
  readonly rawBulkCpuPct: Summary;
  /**
   * CPU use (% of one CPU) of the load side during the bulk transfers: the tunnel worker (the client), the bench
   * and the tunnel origin, all on the load CPU. Near 100% means the load CPU, not the proxy, set the pace.
   */
  readonly tlsBulkLoadCpuPct?: Summary | undefined;
  /** The load side's CPU ms per MiB in the TLS bulk transfer: what the TLS rate is bound by. */
  readonly tlsBulkLoadMsPerMiB?: Summary | undefined;
  /** CPU use (% of one CPU) of every other process on the load CPU during the TLS bulk transfer. */
  readonly tlsBulkOtherLoadPct?: Summary | undefined;
  /** The proxy's CPU milliseconds per MiB relayed: the steadier figure on a loaded machine. */
  readonly tlsBulkCpuMsPerMiB?: Summary | undefined;
  readonly rawBulkCpuMsPerMiB?: Summary | undefined;
  readonly rawBulkLoadCpuPct?: Summary | undefined;
  readonly tlsSetupPerSec: Summary;
  /** The proxy's CPU µs per tunnel set up (connect, CONNECT, handshake, one exchange, close). */
  readonly tlsSetupCpuUs?: Summary | undefined;
  readonly rawSetupCpuUs?: Summary | undefined;
  readonly rawSetupPerSec: Summary;
  /** What the set-up runs cost the proxy and the load, beside their rate. */
  readonly tlsSetupCost?: SetupCost | undefined;
  readonly rawSetupCost?: SetupCost | undefined;
  readonly errors: number;
}

/** A set-up run's cost cells: proxy CPU %, load CPU %, load µs per set-up ('-' where not measured). */
function costCells(c: SetupCost | undefined): string[] {
  return [c?.cpuPct, c?.loadCpuPct, c?.loadUs].map((v) => (v?.n ? formatSummary(v) : '-'));
}

export interface SetupCost {
  /** The proxy's CPU use (% of one CPU); empty for `direct`. */
  readonly cpuPct: Summary;
  /** The load side's CPU use (% of one CPU): the tunnel worker running the loops, the bench and the tunnel origin. */
  readonly loadCpuPct: Summary;
  /** The load side's CPU µs per set-up: what the proxy makes the client and origin spend. */
  readonly loadUs: Summary;
}

export interface IdleRow {
  readonly target: string;
  readonly requested: number;
  readonly opened: number;
  readonly rssIdleMiB: number;
  readonly rssTunnelsMiB: number;
  readonly kibPerTunnel: number;
}

export interface GoalRow {
  readonly goal: string;
  readonly measured: number;
  readonly met: boolean;
  readonly aimMet: boolean;
}

export interface E2eReport {
  readonly bench: 'e2e';
  readonly machine: MachineInfo;
  readonly nodeVersions: Record<string, string>;
  readonly settings: Record<string, number | string>;
  readonly targets: TargetInfo[];
  readonly rps: RpsRow[];
  latency: { rate: number; basis: string; rows: LatencyRow[] } | null;
  readonly mix: MixRow[];
  readonly connect: ConnectRow[];
  readonly idle: IdleRow[];
  readonly goals: GoalRow[];
}

/** a/b of two medians; "n/a" when either is missing (NaN, or null in a saved report). */
const vs = (a: Summary, b: Summary | undefined): string =>
  b && Number.isFinite(a.median) && Number.isFinite(b.median) && a.median !== null && b.median !== null
    ? formatRatio(a.median / b.median)
    : 'n/a';

/** A per-round ratio to Squid when the row has one (`1.52x ±4%`), else the ratio of the two medians. */
const vsSquid = (paired: Summary | undefined, a: Summary, b: Summary | undefined): string => {
  if (paired?.n && Number.isFinite(paired.median) && paired.median !== null) {
    const spread = spreadPercent(paired);
    const pm =
      paired.n > 1 && Number.isFinite(spread)
        ? ` ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`
        : '';
    return `${formatRatio(paired.median)}${pm}`;
  }
  return vs(a, b);
};

/** Markdown tables for every section that ran. */
export function formatE2e(r: E2eReport): string {
  const s = r.settings;
  const out: string[] = [
    `### e2e on loopback (${s.rounds} alternating rounds of ${s.durationS} s, median ±half the min-max range; "vs Squid" is the median of per-round ratios)`,
    '',
    formatMachine(r.machine),
    `Node: ${Object.entries(r.nodeVersions)
      .map(([k, v]) => `${k} v${v}`)
      .join(', ')}. ${s.cpuPinning}. wrk -t1 -c${s.connections}, 1 KiB GETs, keep-alive.`,
    '',
    ...r.targets.map(
      (t) =>
        `- ${t.name}: ${t.ok ? t.note : `NOT MEASURED: ${t.error}`}${t.crashes ? `. CRASHED ${t.crashes} time(s) during the run and was restarted (those samples dropped); last: ${t.lastCrash}` : ''}`,
    ),
  ];
  const find = <T extends { target: string }>(rows: readonly T[], name: string) =>
    rows.find((x) => x.target === name);
  if (r.rps.length > 0) {
    const direct = find(r.rps, 'direct');
    const squid = find(r.rps, 'squid');
    out.push('', '#### closed-loop req/s and proxy CPU per request', '');
    out.push(
      markdownTable(
        ['target', 'req/s', 'vs direct', 'vs Squid', 'CPU µs/req', 'CPU vs Squid', 'errors'],
        r.rps.map((x) => [
          x.target,
          formatSummary(x.reqPerSec),
          vs(x.reqPerSec, direct?.reqPerSec),
          vsSquid(x.rpsVsSquid, x.reqPerSec, squid?.reqPerSec),
          x.cpuUsPerReq.n > 0 ? formatSummary(x.cpuUsPerReq, 1) : '-',
          x.cpuUsPerReq.n > 0 && squid ? vsSquid(x.cpuVsSquid, x.cpuUsPerReq, squid.cpuUsPerReq) : '-',
          String(x.errors),
        ]),
      ),
    );
  }
  if (r.latency) {
    out.push(
      '',
      `#### latency at an open-loop ${formatNumber(r.latency.rate)} req/s (${r.latency.basis})`,
      '',
    );
    out.push(
      markdownTable(
        [
          'target',
          'p50 ms',
          'p99 ms',
          'max ms',
          'proxy waited for CPU ms/s',
          'generator waited ms/s',
          'errors',
        ],
        r.latency.rows.map((x) => [
          x.target,
          formatSummary(x.p50Ms, 2),
          formatSummary(x.p99Ms, 2),
          formatNumber(x.maxMs, 1),
          formatRange(x.proxyWaitMsPerS),
          formatRange(x.loadWaitMsPerS),
          String(x.errors),
        ]),
      ),
    );
  }
  if (r.mix.length > 0) {
    const squid = find(r.mix, 'squid');
    out.push('', '#### closed-loop with 20% denied requests', '');
    out.push(
      markdownTable(
        ['target', 'req/s', 'vs Squid', 'CPU µs/req', 'CPU vs Squid', 'denied share', 'socket errors'],
        r.mix.map((x) => [
          x.target,
          formatSummary(x.reqPerSec),
          vsSquid(x.rpsVsSquid, x.reqPerSec, squid?.reqPerSec),
          formatSummary(x.cpuUsPerReq, 1),
          vsSquid(x.cpuVsSquid, x.cpuUsPerReq, squid?.cpuUsPerReq),
          Number.isFinite(x.deniedShare) && x.deniedShare !== null
            ? `${formatNumber(x.deniedShare * 100, 1)}%`
            : 'n/a',
          String(x.socketErrors),
        ]),
      ),
    );
  }
  if (r.connect.length > 0) {
    const direct = find(r.connect, 'direct');
    const squid = find(r.connect, 'squid');
    out.push(
      '',
      `#### CONNECT: one bulk tunnel (${formatNumber(Number(s.connectBytes) / 2 ** 20)} MiB) and set-up rate (${s.setupConcurrency} at a time)${s.connectRounds === undefined ? '' : `, ${s.connectRounds} alternating rounds`}`,
      '',
    );
    out.push(
      markdownTable(
        [
          'target',
          'TLS bulk MiB/s',
          'vs direct',
          'vs Squid',
          'proxy CPU %',
          'CPU ms/MiB',
          'load CPU %',
          'load ms/MiB',
          'others on load CPU %',
          'raw bulk MiB/s',
          'vs Squid',
          'proxy CPU %',
          'CPU ms/MiB',
          'load CPU %',
          'errors',
        ],
        r.connect.map((x) => [
          x.target,
          formatSummary(x.tlsBulkMiBps),
          vs(x.tlsBulkMiBps, direct?.tlsBulkMiBps),
          vs(x.tlsBulkMiBps, squid?.tlsBulkMiBps),
          x.tlsBulkCpuPct?.n ? formatSummary(x.tlsBulkCpuPct) : '-',
          x.tlsBulkCpuMsPerMiB?.n ? formatSummary(x.tlsBulkCpuMsPerMiB, 2) : '-',
          x.tlsBulkLoadCpuPct?.n ? formatSummary(x.tlsBulkLoadCpuPct) : '-',
          x.tlsBulkLoadMsPerMiB?.n ? formatSummary(x.tlsBulkLoadMsPerMiB, 2) : '-',
          x.tlsBulkOtherLoadPct?.n ? formatSummary(x.tlsBulkOtherLoadPct) : '-',
          formatSummary(x.rawBulkMiBps),
          vs(x.rawBulkMiBps, squid?.rawBulkMiBps),
          x.rawBulkCpuPct?.n ? formatSummary(x.rawBulkCpuPct) : '-',
          x.rawBulkCpuMsPerMiB?.n ? formatSummary(x.rawBulkCpuMsPerMiB, 2) : '-',
          x.rawBulkLoadCpuPct?.n ? formatSummary(x.rawBulkLoadCpuPct) : '-',
          String(x.errors),
        ]),
      ),
    );
    out.push('');
    out.push(
      markdownTable(
        [
          'target',
          'TLS set-ups/s',
          'vs Squid',
          'CPU µs/set-up',
          'proxy CPU %',
          'load CPU %',
          'load µs/set-up',
          'raw set-ups/s',
          'vs Squid',
          'CPU µs/set-up',
          'proxy CPU %',
          'load CPU %',
          'load µs/set-up',
        ],
        r.connect.map((x) => [
          x.target,
          formatSummary(x.tlsSetupPerSec),
          vs(x.tlsSetupPerSec, squid?.tlsSetupPerSec),
          x.tlsSetupCpuUs?.n ? formatSummary(x.tlsSetupCpuUs) : '-',
          ...costCells(x.tlsSetupCost),
          formatSummary(x.rawSetupPerSec),
          vs(x.rawSetupPerSec, squid?.rawSetupPerSec),
          x.rawSetupCpuUs?.n ? formatSummary(x.rawSetupCpuUs) : '-',
          ...costCells(x.rawSetupCost),
        ]),
      ),
    );
    out.push(
      '',
      'TLS: real TLS inside the tunnel (cuttle with its default SNI check). Raw: plain TCP (cuttle with `connect.require_sni: false`). Load CPU: the tunnel worker (the client of the bulk transfers and set-up loops), the bench and the tunnel origin, on the load CPU; with neither the proxy nor the load CPU near 100% in a set-up row, the rate was set by latency (16 loops in flight); load ms/MiB its CPU per MiB in the TLS transfer (the TLS rate is bound by it); others: every other process on the load CPU meanwhile (a large share means the row measured the machine, not the proxy). Errors: failed bulk transfers and set-ups.',
    );
  }
  if (r.idle.length > 0) {
    out.push(
      '',
      '#### memory with idle tunnels (RSS of the freshly restarted proxy and all its processes)',
      '',
    );
    out.push(
      markdownTable(
        ['target', 'tunnels open', 'RSS idle MiB', 'RSS with tunnels MiB', 'KiB per tunnel'],
        r.idle.map((x) => [
          x.target,
          `${formatNumber(x.opened)} / ${formatNumber(x.requested)}`,
          formatNumber(x.rssIdleMiB, 1),
          formatNumber(x.rssTunnelsMiB, 1),
          formatNumber(x.kibPerTunnel, 1),
        ]),
      ),
    );
  }
  if (r.goals.length > 0) {
    out.push('', '#### goals (issue 12; CONNECT: issue 6)', '');
    for (const g of r.goals) {
      // A saved report turns NaN into null: both mean the row was not measured.
      const measured = typeof g.measured === 'number' && Number.isFinite(g.measured);
      const verdict = !measured
        ? 'not measured'
        : g.met
          ? g.aimMet
            ? 'met (and the aim)'
            : 'met'
          : 'NOT met';
      out.push(`- ${verdict}: ${g.goal}: ${formatRatio(g.measured)}`);
    }
  }
  return out.join('\n');
}
