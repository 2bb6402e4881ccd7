/** Reads and loads a config file for a command: ConfigError and unreadable files keep their classes. */
import { type Config, loadConfig } from '@cuttle/shared';
import { readText } from './read-text.js';

/** The validated, frozen config in `file`. Throws UsageError, RuntimeError or ConfigError. */
export async function loadConfigFile(file: string): Promise<Config> {
  return loadConfig(await readText(file, 'config'), file);
}
