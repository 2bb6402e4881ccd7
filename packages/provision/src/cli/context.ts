/** What every command needs: parsed options, the loaded host.yaml and an LXD client. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { loadHostConfig } from '../host-config/load-host-config.js';
import type { HostConfig } from '../host-config/schema.js';
import { LxdClient } from '../lxd/client.js';
import { generatedConfigChecks } from '../render/proxy-config.js';
import { gatherFacts, type HostFacts, systemReaders } from '../resources/facts.js';

/** The options every command accepts; commands add their own. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  root: { type: 'string' },
  socket: { type: 'string' },
  json: { type: 'boolean' },
  instance: { type: 'string' },
  port: { type: 'string', multiple: true },
  url: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CommandContext {
  readonly config: HostConfig;
  /** `--config`'s path, absolute. */
  readonly configFile: string;
  readonly root: string;
  readonly json: boolean;
  readonly instance: string | undefined;
  readonly ports: number[];
  readonly url: string | undefined;
  /** `--force`: apply changes a bridge or profile that running instances use; remove despite attached ones. */
  readonly force: boolean;
  client(): LxdClient;
  /** Reads the host's facts afresh (LXD, nft, dpkg, the files under `root`). */
  facts(): Promise<HostFacts>;
}

/** Parses `argv` strictly (unknown flags and stray arguments are UsageErrors) and loads `--config`. */
export function parseCommandArgs(
  argv: string[],
  allowed: readonly (keyof typeof COMMON_OPTIONS)[],
): {
  help: boolean;
  context: () => CommandContext;
} {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: COMMON_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const k of Object.keys(values))
    if (!allowed.includes(k as keyof typeof COMMON_OPTIONS) && k !== 'help')
      throw new UsageError(`--${k} is not an option of this command`);
  return {
    help: values.help === true,
    context: () => {
      const file = values.config;
      if (typeof file !== 'string') throw new UsageError('--config FILE is required');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const ports = ((values.port ?? []) as string[]).map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 1 || n > 65535)
          throw new UsageError(`--port ${p}: not a port number`);
        return n;
      });
      const config = loadHostConfig(text, file, { check: generatedConfigChecks });
      const socket = typeof values.socket === 'string' ? values.socket : config.lxd_socket;
      let client: LxdClient | undefined;
      const root = typeof values.root === 'string' ? values.root : '/';
      const getClient = (): LxdClient => {
        client ??= new LxdClient(socket === undefined ? {} : { socketPath: socket });
        return client;
      };
      return {
        config,
        configFile: resolve(file),
        root,
        json: values.json === true,
        instance: typeof values.instance === 'string' ? values.instance : undefined,
        ports,
        url: typeof values.url === 'string' ? values.url : undefined,
        force: values.force === true,
        client: getClient,
        facts: () => gatherFacts(systemReaders(getClient()), config, root),
      };
    },
  };
}
