/**
 * `cuttle run --config FILE`: loads and validates the config, compiles the policy, binds every `listen` entry and
 * serves until SIGTERM/SIGINT, then stops accepting, lets in-flight requests finish and exits 0. The proxy's own
 * messages go to stderr; the access log goes where `log.file` says, never to stderr unless configured so.
 */
import type { Config } from '@cuttle/shared';
import { createJsonLineSink } from '../../access/sink.js';
import { createContext } from '../../create-context.js';
import { ORIGIN_AGENT } from '../../forward/origin-agent.js';
import { startProxyServer } from '../../server/index.js';
import { EXIT, RuntimeError } from '../exit-codes.js';
import { loadConfigFile } from '../load-config-file.js';

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
  let config: Config;
  try {
    config = await loadConfigFile(args.config);
  } catch (err) {
    say((err as Error).message);
    return err instanceof RuntimeError ? EXIT.RUNTIME : EXIT.USAGE;
  }
  // Handlers first: a signal that arrives while binding must not kill the process with the default action.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const sink = createJsonLineSink(config.log);
  let server: Awaited<ReturnType<typeof startProxyServer>>;
  try {
    server = await startProxyServer({ context: createContext(config, (e) => sink.record(e)), say });
  } catch (err) {
    say(`cannot start: ${(err as Error).message}`);
    await sink.close();
    return EXIT.RUNTIME;
  }
  const signal = await stopped;
  say(`${signal}: closing`);
  await server.close();
  ORIGIN_AGENT.destroy();
  await sink.close();
  return EXIT.OK;
}
