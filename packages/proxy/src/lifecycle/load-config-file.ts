/** Reads and loads a config file for a command: ConfigError and unreadable files keep their classes. */
import { readFileSync } from 'node:fs';
import { type Config, loadConfig } from '@cuttle/shared';
import { readText } from './read-text.js';

/** Why a file the config names cannot be used, or null: read once here so a bad one fails at load, not later. */
function checkFile(path: string, kind: 'ca'): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (kind === 'ca' && !text.includes('-----BEGIN CERTIFICATE-----'))
    return `${path} holds no PEM certificate`;
  return null;
}

/** The validated, frozen config in `file`. Throws UsageError, RuntimeError or ConfigError. */
export async function loadConfigFile(file: string): Promise<Config> {
  return loadConfig(await readText(file, 'config'), file, { checkFile });
}
