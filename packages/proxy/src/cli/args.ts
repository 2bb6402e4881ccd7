/** Strict argument parsing for every command (node:util parseArgs): unknown flags are usage errors. */
import { UsageError } from '../core/exit-codes.js';

/** Runs a `parseArgs` call; its errors (unknown option, missing value) become UsageError (exit 2). */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments', { cause: err });
  }
}
