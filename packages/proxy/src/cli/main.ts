#!/usr/bin/env node
/**
 * `cuttle COMMAND ...`: dispatches to one command and exits with its code (docs/exit-codes.md). Results go to
 * stdout, diagnostics to stderr; a usage error prints the command's usage and exits 2; nothing prints a stack
 * trace.
 */
import { readFileSync } from 'node:fs';
import { EXIT, RuntimeError, UsageError } from '../core/exit-codes.js';
import type { Command } from './command.js';
import { checkCommand } from './commands/check.js';
import { configReferenceCommand } from './commands/config-reference.js';
import { importSquidCommand } from './commands/import-squid.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';

const RUN_HELP = `usage: cuttle run --config FILE

Loads FILE, binds every listen address and serves until SIGTERM or SIGINT, then drains and exits 0.
The access log goes where log.file says; the proxy's own messages go to stderr.

  -c, --config FILE   the config
  -h, --help          this text

exit: 0 stopped cleanly, 2 bad usage or config, 3 cannot run (listener, log file)
`;

const runCmd: Command = {
  name: 'run',
  summary: 'run the proxy',
  help: RUN_HELP,
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(RUN_HELP);
      return EXIT.OK;
    }
    return runCommand(argv);
  },
};

const COMMANDS: readonly Command[] = [
  runCmd,
  checkCommand,
  validateCommand,
  importSquidCommand,
  configReferenceCommand,
  replayCommand,
];

// Set by the bundler (packaging/): a bundle has no package.json beside it.
declare const __CUTTLE_VERSION__: string | undefined;

function version(): string {
  if (typeof __CUTTLE_VERSION__ === 'string') return __CUTTLE_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: cuttle COMMAND [options]',
    '',
    'An egress HTTP proxy: a layer-7 firewall for LXD containers.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "cuttle COMMAND --help shows a command's options. cuttle --version prints the version.",
    'exit codes: 0 yes (allowed, valid), 1 no (denied), 2 usage or config error, 3 runtime failure',
    '',
  ].join('\n');
}

function say(message: string): void {
  process.stderr.write(`cuttle: ${message}\n`);
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(mainHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`cuttle ${version()}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    say(`unknown command '${name}'`);
    process.stderr.write(mainHelp());
    return EXIT.USAGE;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const e = err as Error & { code?: unknown };
    if (err instanceof UsageError) {
      say(`${command.name}: ${e.message}`);
      process.stderr.write(command.help.split('\n\n')[0] ?? '');
      process.stderr.write('\n');
      return EXIT.USAGE;
    }
    if (e.code === 'CUTTLE_ERR_CONFIG' || e.code === 'CUTTLE_ERR_SQUID_IMPORT') {
      process.stderr.write(`${e.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof RuntimeError) {
      say(e.message);
      return EXIT.RUNTIME;
    }
    say(`internal error: ${e.message ?? String(err)}`);
    return EXIT.RUNTIME;
  }
}

// A reader that goes away (`cuttle ... | head`) ends the output, not the program with a stack trace: stop
// quietly with the code so far. Any other stdout failure is a runtime failure (exit 3), said in one line.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`cuttle: cannot write to stdout: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 3);
});
process.exitCode = await main(process.argv.slice(2));
