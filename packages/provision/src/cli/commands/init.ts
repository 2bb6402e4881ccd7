/**
 * `cuttle-provision init --config FILE`: writes a host.yaml from the live host's facts (resources/init.ts), checked
 * by the same loader as every other command before it is written. Never overwrites a file without --force.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '@cuttle/shared';
import { ApplyError, LxdApiError, LxdUnreachableError } from '../../errors.js';
import { loadHostConfig } from '../../host-config/load-host-config.js';
import { writeFileAtomic } from '../../internal/atomic-file.js';
import { LxdClient } from '../../lxd/client.js';
import { generatedConfigChecks } from '../../render/proxy-config.js';
import type { LxdInstance, LxdNetwork, LxdPool, LxdProfile } from '../../resources/facts.js';
import { type InitFacts, initialHostYaml } from '../../resources/init.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from '../exit-codes.js';

export const INIT_HELP = `usage: cuttle-provision init --config FILE [--mode bridge|socket] [--pool NAME] [--bridge NAME]
                             [--profile NAME] [--socket PATH] [--force]

Writes FILE, a host.yaml for this host, from what its LXD daemon holds: it reuses the pool the \`default\`
profile's root disk is on (else the most used pool, else a new dir pool) and chooses a NEW bridge (cuttlebr0, or
the next free name) and a NEW profile (cuttle, cuttle-1, ...), so applying it never rewrites lxdbr0 or default.
Comments in the file list every pool, network and profile found, who uses them, and the instances that are not on
the new profile (they keep whatever network they had). proxy.allow starts empty: add the names containers may
reach. Nothing on the host is changed; run \`plan\` and \`apply\` next.

  -c, --config FILE   the host.yaml to write (refused if it exists, unless --force)
      --mode MODE     bridge (default) or socket
      --pool NAME     use this pool instead of the chosen one
      --bridge NAME   use this bridge name instead of the chosen one (at most 15 characters)
      --profile NAME  use this profile name instead of the chosen one
      --socket PATH   LXD's unix socket (default: discovered; written as lxd_socket when given)
      --force         overwrite FILE

exit: 0 written, 2 usage error or FILE exists, 3 LXD unreachable or FILE unwritable
`;

const say = (line: string): void => {
  process.stderr.write(`cuttle-provision: ${line}\n`);
};

/** Reads every pool, network, profile and instance. */
export async function gatherInitFacts(client: LxdClient): Promise<InitFacts> {
  const all = async <T>(path: string): Promise<T[]> =>
    (await client.request<T[]>('GET', `${path}?recursion=1`)).metadata ?? [];
  return {
    socketPath: client.socketPath,
    pools: await all<LxdPool & { used_by?: string[] }>('/1.0/storage-pools'),
    networks: await all<LxdNetwork>('/1.0/networks'),
    profiles: await all<LxdProfile>('/1.0/profiles'),
    instances: await all<LxdInstance>('/1.0/instances'),
  };
}

export async function initCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        mode: { type: 'string' },
        pool: { type: 'string' },
        bridge: { type: 'string' },
        profile: { type: 'string' },
        socket: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    say((err as Error).message);
    process.stderr.write(INIT_HELP);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(INIT_HELP);
    return EXIT_OK;
  }
  const file = values.config;
  if (typeof file !== 'string') {
    say('--config FILE is required');
    process.stderr.write(INIT_HELP);
    return EXIT_USAGE;
  }
  const mode = values.mode ?? 'bridge';
  if (mode !== 'bridge' && mode !== 'socket') {
    say(`--mode ${String(mode)}: expected bridge or socket`);
    return EXIT_USAGE;
  }
  if (existsSync(file) && values.force !== true) {
    say(`${file} exists: not overwritten (--force to replace it)`);
    return EXIT_USAGE;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  try {
    const socket = str('socket');
    const client = new LxdClient(socket === undefined ? {} : { socketPath: socket });
    const facts = await gatherInitFacts(client);
    const r = initialHostYaml(facts, {
      mode,
      ...(str('pool') === undefined ? {} : { pool: str('pool') }),
      ...(str('bridge') === undefined ? {} : { bridge: str('bridge') }),
      ...(str('profile') === undefined ? {} : { profile: str('profile') }),
      ...(socket === undefined ? {} : { lxdSocket: socket }),
    });
    loadHostConfig(r.text, file, { check: generatedConfigChecks });
    try {
      writeFileAtomic(file, r.text, 0o644);
    } catch (err) {
      throw new ApplyError(
        `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const state = (x: { name: string; existing: boolean }) =>
      `${x.name} (${x.existing ? 'existing' : 'new'})`;
    process.stdout.write(
      `wrote ${file}: pool ${state(r.pool)}${r.bridge === null ? '' : `, bridge ${state(r.bridge)}`}, profile ${state(r.profile)}\n` +
        (r.unmanaged.length === 0
          ? ''
          : `instances not on profile ${r.profile.name} (they keep whatever network they had): ${r.unmanaged.join(', ')}\n`),
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ConfigError) {
      say(`the host.yaml it would write is invalid:\n${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof LxdApiError || err instanceof LxdUnreachableError || err instanceof ApplyError) {
      say(err.message);
      return EXIT_RUNTIME;
    }
    throw err;
  }
}
