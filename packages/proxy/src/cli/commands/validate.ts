/** `cuttle validate --config FILE`: loads the config and compiles its policy, starting nothing (like `nginx -t`). */
import { parseArgs } from 'node:util';
import { EXIT, UsageError } from '../../core/exit-codes.js';
import { loadConfigFile } from '../../lifecycle/load-config-file.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';

const HELP = `usage: cuttle validate --config FILE

Checks FILE without starting anything: YAML syntax, unknown keys, types, listen addresses, ranges and name
patterns (the policy is compiled). Every problem is printed to stderr as FILE:LINE:COL: KEY: message.
For a unit's ExecReload, like nginx -t.

  -c, --config FILE   the config to check
  -h, --help          this text

exit: 0 valid, 2 invalid or bad usage, 3 FILE unreadable
`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a config file without starting anything',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT.OK;
    }
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { config } = await loadConfigFile(values.config);
    process.stdout.write(
      `${values.config}: valid (listen ${config.listen.join(', ')}; ${config.allow.length} allow entries, ${config.rules.length} rules)\n`,
    );
    return EXIT.OK;
  },
};
