/** `cuttle config-reference`: prints docs/config-reference.md, generated from the config schema. */

import { parseArgs } from 'node:util';
import { renderConfigReference } from '@cuttle/shared';
import { EXIT, UsageError } from '../../core/exit-codes.js';
import { parseOrUsage } from '../args.js';
import type { Command } from '../command.js';

const HELP = `usage: cuttle config-reference

Prints the config reference (markdown: every key, its type, default and description), generated from the schema.
docs/config-reference.md is this output.

  -h, --help   this text
`;

export const configReferenceCommand: Command = {
  name: 'config-reference',
  summary: 'print the config reference generated from the schema',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: { help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT.OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    process.stdout.write(renderConfigReference());
    return EXIT.OK;
  },
};
