/**
 * `cuttle replay --config NEW.yaml ACCESS.LOG`: re-decides every request in a recorded access log (json or squid
 * format, told apart per line) under the policy in NEW.yaml and prints what would change, before a reload.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { compilePolicy } from '@cuttle/shared';
import { EXIT, RuntimeError, UsageError } from '../../core/exit-codes.js';
import { loadConfigFile } from '../../lifecycle/load-config-file.js';
import { parseAccessLine } from '../../log/parse-access-line.js';
import { newReplaySummary, type ReplayChange, replayLine } from '../../report/replay.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';

const HELP = `usage: cuttle replay --config FILE [--json] ACCESS.LOG...

Re-decides every request recorded in ACCESS.LOG (cuttle's json or squid format, or Squid's own access.log)
under the policy in FILE and prints each decision that would change, grouped, with a count. Only the policy is
asked: no DNS, so the private-address guard and the SNI check are not replayed. Lines that hold no decision
(unparsable requests, connection limits) are skipped.

  -c, --config FILE   the new config
  --json              one JSON object per change and a summary object, instead of text
  -h, --help          this text

exit: 0 nothing would change, 1 decisions would change, 2 bad usage, config or log unusable, 3 log unreadable
`;

function describe(c: ReplayChange): string {
  const rule = c.rule === null ? '' : ` ${c.rule}`;
  return `${c.from} -> ${c.to}  ${c.method} ${c.target}  (${c.reason}${rule})  x${c.count}`;
}

async function checkReadable(file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new UsageError(`log ${file}: not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`log ${file}: no such file`);
    throw new RuntimeError(`log ${file}: cannot read (${code ?? (err as Error).message})`);
  }
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 're-decide a recorded access log under a new policy and print what would change',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          config: { type: 'string', short: 'c' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
      }),
    );
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT.OK;
    }
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    if (positionals.length === 0) throw new UsageError('name at least one access log');
    const policy = compilePolicy((await loadConfigFile(values.config)).config);
    const summary = newReplaySummary();
    for (const file of positionals) {
      await checkReadable(file);
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      try {
        for await (const text of lines) {
          if (text.trim() === '') continue;
          replayLine(policy, parseAccessLine(text), summary);
        }
      } catch (err) {
        throw new RuntimeError(`log ${file}: ${(err as Error).message}`);
      }
    }
    if (summary.lines > 0 && summary.unparsed === summary.lines)
      throw new UsageError(`no line of ${positionals.join(', ')} is a cuttle or Squid access-log line`);
    const changes = [...summary.changes.values()].sort(
      (a, b) => b.count - a.count || a.target.localeCompare(b.target),
    );
    const { lines, unparsed, skipped, replayed, changed } = summary;
    if (values.json) {
      for (const c of changes) process.stdout.write(`${JSON.stringify(c)}\n`);
      process.stdout.write(`${JSON.stringify({ lines, replayed, changed, skipped, unparsed })}\n`);
    } else {
      for (const c of changes) process.stdout.write(`${describe(c)}\n`);
      process.stdout.write(
        `${lines} line(s): ${replayed} replayed, ${changed} would change, ${skipped} without a decision, ${unparsed} not understood\n`,
      );
    }
    return changed > 0 ? EXIT.NO : EXIT.OK;
  },
};
