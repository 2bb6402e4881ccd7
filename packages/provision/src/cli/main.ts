#!/usr/bin/env node
/**
 * `cuttle-provision plan|apply|verify|remove|reference`: dispatches to one command and exits with its code
 * (0 ok / nothing to do, 1 changes pending / a check failed, 2 usage or config error, 3 runtime failure).
 * Results go to stdout, diagnostics to stderr; nothing prints a stack trace.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@cuttle/shared';
import { ApplyError, LxdApiError, LxdUnreachableError, UsageError } from '../errors.js';
import { renderHostReference } from '../host-config/reference.js';
import { APPLY_HELP, applyCommand } from './commands/apply.js';
import { identityCommand } from './commands/identity.js';
import { initCommand } from './commands/init.js';
import { PLAN_HELP, planCommand } from './commands/plan.js';
import { REMOVE_HELP, removeCommand } from './commands/remove.js';
import { VERIFY_HELP, verifyCommand } from './commands/verify.js';
import { type COMMON_OPTIONS, type CommandContext, parseCommandArgs } from './context.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from './exit-codes.js';

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly options: readonly (keyof typeof COMMON_OPTIONS)[];
  run(ctx: CommandContext): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  plan: {
    summary: 'show what apply would change',
    help: PLAN_HELP,
    options: ['config', 'root', 'json', 'socket'],
    run: planCommand,
  },
  apply: {
    summary: 'converge the host to host.yaml',
    help: APPLY_HELP,
    options: ['config', 'root', 'socket', 'force'],
    run: applyCommand,
  },
  verify: {
    summary: 'check the live host (and a container) really is isolated',
    help: VERIFY_HELP,
    options: ['config', 'root', 'socket', 'instance', 'json', 'port', 'url'],
    run: verifyCommand,
  },
  remove: {
    summary: 'remove the files, table and unit it owns',
    help: REMOVE_HELP,
    options: ['config', 'root', 'socket', 'force'],
    run: removeCommand,
  },
};

const REFERENCE_HELP =
  'usage: cuttle-provision reference\n\nPrints the host.yaml reference (docs/host-reference.md).\n';

// Set by the bundler (packaging/): a bundle has no package.json beside it.
declare const __CUTTLE_VERSION__: string | undefined;

function version(): string {
  if (typeof __CUTTLE_VERSION__ === 'string') return __CUTTLE_VERSION__;
  try {
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  return [
    'usage: cuttle-provision COMMAND --config host.yaml [options]',
    '',
    'Sets up an LXD host for cuttle through the LXD REST API: storage pool, link-local bridge, profile, the',
    "proxy's config, an nftables table and a hardened systemd unit.",
    '',
    'commands:',
    '  init       write a host.yaml from this host (a new bridge and profile; nothing else is changed)',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)}  ${c.summary}`),
    '  identity   write (--watch: keep current) the container identity map the proxy reads',
    '  reference  print the host.yaml reference',
    '',
    "cuttle-provision COMMAND --help shows a command's options. --version prints the version.",
    'exit codes: 0 ok or no changes, 1 changes pending or a check failed, 2 usage or config error, 3 runtime failure',
    '',
  ].join('\n');
}

function say(message: string): void {
  process.stderr.write(`cuttle-provision: ${message}\n`);
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(mainHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`cuttle-provision ${version()}\n`);
    return EXIT_OK;
  }
  if (name === 'identity') return identityCommand(rest);
  if (name === 'init') return initCommand(rest);
  if (name === 'reference') {
    if (rest.length > 0) {
      process.stdout.write(REFERENCE_HELP);
      return rest.includes('--help') || rest.includes('-h') ? EXIT_OK : EXIT_USAGE;
    }
    process.stdout.write(renderHostReference());
    return EXIT_OK;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    say(`unknown command "${name}"`);
    process.stderr.write(mainHelp());
    return EXIT_USAGE;
  }
  try {
    const parsed = parseCommandArgs(rest, cmd.options);
    if (parsed.help) {
      process.stdout.write(cmd.help);
      return EXIT_OK;
    }
    return await cmd.run(parsed.context());
  } catch (err) {
    if (err instanceof UsageError) {
      say(err.message);
      process.stderr.write(cmd.help);
      return EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      say(`invalid config:\n${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof ApplyError || err instanceof LxdApiError || err instanceof LxdUnreachableError) {
      say(err.message);
      return EXIT_RUNTIME;
    }
    say(`unexpected error: ${(err as Error).stack ?? String(err)}`);
    return EXIT_RUNTIME;
  }
}

// A reader that goes away (`cuttle-provision ... | head`) ends the output, not the program with a stack trace: stop
// quietly with the code so far. Any other stdout failure is a runtime failure (exit 3), said in one line.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE')
    process.stderr.write(`cuttle-provision: cannot write to stdout: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 3);
});
process.exitCode = await main(process.argv.slice(2));
