/**
 * cuttle under test: `node packages/proxy/dist/cli/main.js run --config FILE` on a given Node binary, with the same
 * policy as the others and everything on: policy, JSON access log to a file, Prometheus metrics, the SNI check
 * (unless `requireSni` is false, for the raw CONNECT rows).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROXY_NODE_FLAGS } from '@cuttle/provision';
import { freePort, spawnDaemon, waitForPort } from '../system/processes.js';
import type { ProxyTarget, World } from './proxy-target.js';

/** The compiled cuttle CLI of this checkout, or CUTTLE_BENCH_CLI (to measure a patched build). */
export const CUTTLE_CLI =
  process.env.CUTTLE_BENCH_CLI ??
  fileURLToPath(new URL('../../../../packages/proxy/dist/cli/main.js', import.meta.url));

/**
 * A second cuttle build (CUTTLE_BENCH_BASE_CLI, e.g. a copy of the previous `dist`), run as the `cuttle-base-node20`
 * and `cuttle-base-node24` targets: a change measured side by side against the build before it, in one run.
 */
export const BASE_CLI = process.env.CUTTLE_BENCH_BASE_CLI;

/** Space-separated Node flags from `name`, or `fallback` when it is not set (set and empty: none). */
function flagsFrom(name: string, fallback: readonly string[]): readonly string[] {
  const v = process.env[name];
  return v === undefined ? fallback : v.split(' ').filter((f) => f !== '');
}

/**
 * Node flags for the cuttle targets of this checkout: by default the ones every launch of the proxy carries
 * (`PROXY_NODE_FLAGS`: the unit, the manual start, `pnpm cuttle`), so the bench runs cuttle as the service does.
 * CUTTLE_BENCH_CUTTLE_FLAGS replaces them (e.g. `""` for none): a flag measured side by side against the same build
 * (CUTTLE_BENCH_BASE_CLI set to this checkout's CLI) with CUTTLE_BENCH_BASE_FLAGS, the base targets' flags
 * (default: the same `PROXY_NODE_FLAGS`).
 */
export const CUTTLE_FLAGS = flagsFrom('CUTTLE_BENCH_CUTTLE_FLAGS', PROXY_NODE_FLAGS);
export const BASE_FLAGS = flagsFrom('CUTTLE_BENCH_BASE_FLAGS', PROXY_NODE_FLAGS);

export interface CuttleOptions {
  readonly name: string;
  /** The CLI to run (default CUTTLE_CLI). */
  readonly cli?: string | undefined;
  readonly node: string;
  readonly requireSni: boolean;
  readonly cpuProfDir?: string | undefined;
}

/** The config the bench runs cuttle with (JSON, which is also YAML). */
export function cuttleConfig(
  world: World,
  port: number,
  metricsPort: number,
  dir: string,
  name: string,
  requireSni: boolean,
): object {
  return {
    listen: [`127.0.0.1:${port}`],
    clients: ['127.0.0.0/8'],
    ports: [world.originPort],
    connect_ports: [world.tlsPort, world.tcpPort],
    allow: [world.allowedHost],
    destinations: { allow_ranges: ['127.0.0.0/8'] },
    dns: { hosts: { [world.allowedHost]: ['127.0.0.1'] } },
    connect: { require_sni: requireSni },
    // 10k idle tunnels from one client address need more than the defaults (4096 total, 256 per client).
    limits: { max_connections: 30_000, max_connections_per_client: 30_000 },
    log: { file: join(dir, `${name}-access.log`), format: 'json' },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  };
}

export async function startCuttle(
  dir: string,
  world: World,
  cpu: number | undefined,
  o: CuttleOptions,
): Promise<ProxyTarget> {
  const cli = o.cli ?? CUTTLE_CLI;
  const flags = o.cli === undefined ? CUTTLE_FLAGS : BASE_FLAGS;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`pnpm build\` first`);
  const port = await freePort();
  const metricsPort = await freePort();
  const file = join(dir, `${o.name}.yaml`);
  writeFileSync(
    file,
    `${JSON.stringify(cuttleConfig(world, port, metricsPort, dir, o.name, o.requireSni), null, 2)}\n`,
  );
  const prof = o.cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir, '--cpu-prof-name', `${o.name}.cpuprofile`]
    : [];
  const daemon = spawnDaemon({
    name: o.name,
    command: o.node,
    args: [...prof, ...flags, cli, 'run', '--config', file],
    cpu,
    logFile: join(dir, `${o.name}.out`),
  });
  await waitForPort(port, 15_000, daemon);
  return {
    name: o.name,
    port,
    daemon,
    note: `${o.cli === undefined ? 'cuttle' : `cuttle build ${o.cli}`}${flags.length > 0 ? ` (node ${flags.join(' ')})` : ' (no node flags)'} on Node ${nodeVersion(o.node)}, JSON access log to a file, metrics on, require_sni ${o.requireSni}`,
  };
}

/** `node --version` of a binary, without the v. */
export function nodeVersion(node: string): string {
  if (node === process.execPath) return process.versions.node;
  return String(execFileSync(node, ['--version']))
    .trim()
    .replace(/^v/, '');
}
