/** The floor program as a measured target (peers/floor-forwarder.ts) on a given Node binary, pinned like the rest. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnDaemon, waitForPort } from '../system/processes.js';
import { nodeVersion } from './cuttle.js';
import type { ProxyTarget, World } from './proxy-target.js';

const SCRIPT = fileURLToPath(new URL('../peers/floor-forwarder.js', import.meta.url));

export async function startFloor(
  dir: string,
  world: World,
  cpu: number | undefined,
  name: string,
  node: string,
  cpuProfDir?: string | undefined,
): Promise<ProxyTarget> {
  const port = await freePort();
  const prof = cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];
  const daemon = spawnDaemon({
    name,
    command: node,
    args: [...prof, SCRIPT, String(port), world.allowedHost, String(world.originPort)],
    cpu,
    logFile: join(dir, `${name}.out`),
  });
  await waitForPort(port, 10_000, daemon);
  return {
    name,
    port,
    daemon,
    note: `floor on Node ${nodeVersion(node)}: bare node:http + undici Pool.dispatch, no policy, log, metrics or checks`,
  };
}
