/** Reads and loads a config file for a command: ConfigError and unreadable files keep their classes. */
import { readFileSync } from 'node:fs';
import { type Config, loadConfig } from '@cuttle/shared';
import { readText } from './read-text.js';

/** The contents of the files a config names, read once when it loads (never again on a request path). */
export interface ConfigFiles {
  /** `tls.ca_file`'s PEM text, or null when the config names none. */
  readonly caPem: string | null;
}

/** For a config that names no file. */
export const NO_FILES: ConfigFiles = Object.freeze({ caPem: null });

/** A validated config and the files it names, as `prepare` takes them. */
export interface LoadedConfig {
  readonly config: Config;
  readonly files: ConfigFiles;
}

/** Reads a file the config names; returns its text, or why it cannot be used. */
function readNamedFile(path: string, kind: 'ca'): { text: string } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    };
  }
  if (kind === 'ca' && !text.includes('-----BEGIN CERTIFICATE-----'))
    return { problem: `${path} holds no PEM certificate` };
  return { text };
}

/**
 * The validated, frozen config in `file` and the files it names, each read once here so a bad one fails at load
 * (exit 2 with its position), not later. Throws UsageError, RuntimeError or ConfigError.
 */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  let caPem: string | null = null;
  const checkFile = (path: string, kind: 'ca'): string | null => {
    const r = readNamedFile(path, kind);
    if ('problem' in r) return r.problem;
    caPem = r.text;
    return null;
  };
  const config = loadConfig(await readText(file, 'config'), file, { checkFile });
  return { config, files: Object.freeze({ caPem }) };
}
