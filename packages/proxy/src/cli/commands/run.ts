/**
 * `cuttle run --config FILE`: loads and validates the config, compiles the policy, binds every `listen` entry and
 * serves until SIGTERM/SIGINT, then stops accepting, lets in-flight requests finish and exits 0. The proxy's own
 * messages go to stderr; the access log goes where `log.file` says, never to stderr unless configured so.
 */
import { EXIT, RuntimeError } from '../../core/exit-codes.js';
import { type LoadedConfig, loadConfigFile } from '../../lifecycle/load-config-file.js';
import { prepare } from '../../lifecycle/prepare.js';
import { serve } from '../../lifecycle/serve.js';

const USAGE = 'usage: cuttle run --config FILE\n';

const say = (line: string): void => {
  process.stderr.write(`cuttle: ${line}\n`);
};

function parseArgs(argv: string[]): { config: string } | null {
  let config: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c') config = argv[++i] ?? null;
    else if (a?.startsWith('--config=')) config = a.slice('--config='.length);
    else return null;
  }
  return config === null ? null : { config };
}

/** Runs the proxy; resolves with the process exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === null) {
    process.stderr.write(USAGE);
    return EXIT.USAGE;
  }
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(args.config);
  } catch (err) {
    say((err as Error).message);
    return err instanceof RuntimeError ? EXIT.RUNTIME : EXIT.USAGE;
  }
  // Access log, metrics, listeners, SIGHUP reload, SIGUSR1 log reopen, SIGTERM/SIGINT drain: lifecycle/serve.ts.
  return serve({ file: args.config, prepared: prepare(loaded.config, loaded.files), say });
}
