/** Reading the files a command names, with the exit-code classification of docs/exit-codes.md. */
import { readFile } from 'node:fs/promises';
import { RuntimeError, UsageError } from '../core/exit-codes.js';

/**
 * Reads `file` as UTF-8. A file that does not exist is a usage error (exit 2: what was given cannot be used);
 * one that exists but cannot be read (permissions, a directory, I/O) is a runtime failure (exit 3).
 */
export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new UsageError(`${what} ${file}: no such file`, { cause: err });
    throw new RuntimeError(`${what} ${file}: cannot read (${code ?? (err as Error).message})`, {
      cause: err,
    });
  }
}
