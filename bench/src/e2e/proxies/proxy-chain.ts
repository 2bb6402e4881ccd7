/** proxy-chain's Server (Node 20) as a measured peer: a generic Node proxy with the same one-name policy. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnDaemon, waitForPort } from '../system/processes.js';
import { type ProxyTarget, type World, withHostsFile } from './proxy-target.js';

const SCRIPT = fileURLToPath(new URL('../peers/proxy-chain-server.js', import.meta.url));

export async function startProxyChain(
  dir: string,
  world: World,
  cpu: number | undefined,
): Promise<ProxyTarget> {
  const port = await freePort();
  const { command, args } = withHostsFile(world.hostsFile, [
    ...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]),
    process.execPath,
    SCRIPT,
    String(port),
    world.allowedHost,
  ]);
  const daemon = spawnDaemon({ name: 'proxy-chain', command, args, logFile: join(dir, 'proxy-chain.out') });
  await waitForPort(port, 10_000, daemon);
  return {
    name: 'proxy-chain',
    port,
    daemon,
    note: `proxy-chain 3 on Node ${process.versions.node}, no access log`,
  };
}
