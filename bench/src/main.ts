#!/usr/bin/env node
/**
 * `pnpm bench allowlist [--json] [--quick]` and `pnpm bench e2e [--json] [--quick] [...]`: see bench/README.md.
 * Tables go to stdout (or one JSON document with --json); progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { type AllowlistReport, formatAllowlist, runAllowlist } from './allowlist/run-allowlist.js';
import type { E2eReport } from './e2e/e2e-report.js';

const USAGE = `usage: pnpm bench allowlist [--json] [--quick] [--sizes 10,1000]
       pnpm bench e2e [--json] [--quick] [--duration S] [--rounds N] [--connect-rounds N] [--connect-mib N]
                      [--targets direct,squid,tinyproxy,proxy-chain,cuttle-node20,cuttle-node24 (default; also
                                 bare-relay,bare-relay-node24, floor-node20,floor-node24, cuttle-base-node20,cuttle-base-node24)]
                      [--sections rps,latency,mix,connect,idle] [--cpu-prof DIR]
       pnpm bench format REPORT.json     (the tables of a saved --json report)`;

function parseList(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} wants a positive number, got "${value}"`);
  return n;
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  const n = positiveNumber(name, value);
  if (n !== undefined && !Number.isInteger(n))
    throw new UsageError(`--${name} wants a whole number, got "${value}"`);
  return n;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      'connect-rounds': { type: 'string' },
      'connect-mib': { type: 'string' },
      targets: { type: 'string' },
      sections: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (rest.length > 0 && command !== 'format') throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (command === 'allowlist') {
    const sizes = parseList(values.sizes)?.map((s) => {
      const n = positiveNumber('sizes', s);
      if (n === undefined || !Number.isInteger(n)) throw new UsageError(`--sizes wants integers, got "${s}"`);
      return n;
    });
    const report = runAllowlist({ quick: values.quick, ...(sizes ? { sizes } : {}) });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatAllowlist(report));
    return 0;
  }
  if (command === 'e2e') {
    const { formatE2e, runE2e } = await import('./e2e/run-e2e.js');
    const report = await runE2e({
      quick: values.quick,
      durationS: positiveNumber('duration', values.duration),
      rounds: positiveNumber('rounds', values.rounds),
      connectRounds: positiveInteger('connect-rounds', values['connect-rounds']),
      connectMiB: positiveNumber('connect-mib', values['connect-mib']),
      targets: parseList(values.targets),
      sections: parseList(values.sections),
      cpuProfDir: values['cpu-prof'],
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatE2e(report));
    return 0;
  }
  if (command === 'format') {
    // Re-prints the tables of a saved `--json` report (how bench/README.md's tables are made).
    if (values.sizes !== undefined || positionals.length !== 2) throw new UsageError('format wants one FILE');
    const { readFileSync } = await import('node:fs');
    const report = JSON.parse(readFileSync(positionals[1] as string, 'utf8')) as { bench?: string };
    if (report.bench === 'allowlist') console.log(formatAllowlist(report as AllowlistReport));
    else if (report.bench === 'e2e') {
      const { formatE2e } = await import('./e2e/e2e-report.js');
      console.log(formatE2e(report as E2eReport));
    } else throw new UsageError(`${positionals[1]} is not a bench report`);
    return 0;
  }
  throw new UsageError(command === undefined ? 'no command given' : `unknown command "${command}"`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (
      err instanceof UsageError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`bench: ${err.message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error('bench: failed:', err);
    process.exitCode = 1;
  },
);
