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
  };
}

/** One markdown line describing the machine. */
export function formatMachine(m: MachineInfo): string {
  return `${m.date} · ${m.cpuModel} · ${m.nproc} CPUs · ${m.memGiB} GiB · Linux ${m.kernel} · bench on Node ${m.node}`;
}
