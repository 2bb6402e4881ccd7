import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** What a result was measured on; printed above every table and stored in the JSON. */
export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  readonly nproc: number;
  readonly memGiB: number;
  readonly kernel: string;
  readonly node: string;
  /** /proc/loadavg's 1/5/15-minute figures when the run started (the machine is shared: a high load means noise). */
  readonly loadAvg?: string;
  /** The same when the run ended. */
  loadAvgEnd?: string;
}

/** The 1, 5 and 15-minute load averages, e.g. "3.10 2.50 1.20"; "unknown" off Linux. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

/** Describes this machine and the Node running the bench. */
export function describeMachine(): MachineInfo {
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux: leave unknown
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    // All online CPUs, not this process's affinity (the e2e bench pins itself to one).
    nproc: cpus().length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    node: process.version,
    loadAvg: loadAverage(),
  };
}

/** One markdown line describing the machine. */
export function formatMachine(m: MachineInfo): string {
  const load = m.loadAvg
    ? ` · load average ${m.loadAvg}${m.loadAvgEnd ? ` at the start, ${m.loadAvgEnd} at the end` : ''}`
    : '';
  return `${m.date} · ${m.cpuModel} · ${m.nproc} CPUs · ${m.memGiB} GiB · Linux ${m.kernel} · bench on Node ${m.node}${load}`;
}
