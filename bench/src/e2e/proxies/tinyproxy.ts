/**
 * tinyproxy 1.11 with the same policy: Allow 127.0.0.1, a domain filter with FilterDefaultDeny, ConnectPort for the
 * tunnel ports, connect-level logging to a file. It has no static hosts: it runs in a mount namespace whose
 * /etc/hosts maps the test name.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnDaemon, waitForPort } from '../system/processes.js';
import { type ProxyTarget, type World, withHostsFile } from './proxy-target.js';

export async function startTinyproxy(
  dir: string,
  world: World,
  cpu: number | undefined,
): Promise<ProxyTarget> {
  const port = await freePort();
  const filter = join(dir, 'filter');
  writeFileSync(filter, `^${world.allowedHost.replaceAll('.', '\\.')}$\n`);
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    `# written by the cuttle bench
User nobody
Group nogroup
Port ${port}
Listen 127.0.0.1
Timeout 600
MaxClients 20000
Allow 127.0.0.1
LogFile "${dir}/tinyproxy.log"
LogLevel Connect
PidFile "${dir}/tinyproxy.pid"
Filter "${filter}"
FilterURLs Off
FilterType ere
FilterDefaultDeny Yes
ConnectPort ${world.tlsPort}
ConnectPort ${world.tcpPort}
`,
  );
  // tinyproxy (as nobody) must write its log in the bench's directory.
  writeFileSync(join(dir, 'tinyproxy.log'), '');
  chmodSync(join(dir, 'tinyproxy.log'), 0o666);
  chmodSync(dir, 0o755);
  const { command, args } = withHostsFile(world.hostsFile, [
    ...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]),
    'tinyproxy',
    '-d',
    '-c',
    conf,
  ]);
  const daemon = spawnDaemon({ name: 'tinyproxy', command, args, logFile: join(dir, 'tinyproxy.out') });
  await waitForPort(port, 10_000, daemon);
  return {
    name: 'tinyproxy',
    port,
    daemon,
    note: 'tinyproxy 1.11, LogLevel Connect, filter + FilterDefaultDeny; closes the client connection after each response (wrk counts each reconnect as a read error)',
  };
}
