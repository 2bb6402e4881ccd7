/** Squid 5.7 with the seed's policy on loopback: one allowed dstdomain, Safe_ports/SSL_ports, no cache, access log. */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnDaemon, waitForPort } from '../system/processes.js';
import type { ProxyTarget, World } from './proxy-target.js';

export async function startSquid(dir: string, world: World, cpu: number | undefined): Promise<ProxyTarget> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 ${world.allowedHost}\n`);
  const conf = join(dir, 'squid.conf');
  writeFileSync(
    conf,
    `# written by the cuttle bench: the seed's policy on loopback
http_port 127.0.0.1:${port}
pid_filename ${dir}/squid.pid
cache_log ${dir}/cache.log
access_log stdio:${dir}/access.log squid
hosts_file ${dir}/hosts
coredump_dir ${dir}
cache deny all
max_filedescriptors 65536
shutdown_lifetime 1 seconds
acl ssl_ports port ${world.tlsPort} ${world.tcpPort}
acl safe_ports port ${world.originPort} ${world.tlsPort} ${world.tcpPort}
acl localnet src 127.0.0.1
acl safe_sites dstdomain -n ${world.allowedHost}
acl CONNECT method CONNECT
http_access deny !safe_ports
http_access deny CONNECT !ssl_ports
http_access allow localnet safe_sites
http_access deny all
`,
  );
  chownRecursive(dir, 'proxy');
  const daemon = spawnDaemon({
    name: 'squid',
    command: 'squid',
    args: ['-f', conf, '-N', '-d1'],
    cpu,
    logFile: join(dir, 'squid.out'),
  });
  await waitForPort(port, 30_000, daemon);
  return { name: 'squid', port, daemon, note: 'Squid 5.7, -N (one process), access_log on, cache deny all' };
}

function chownRecursive(dir: string, user: string): void {
  // Squid drops to the `proxy` user and must write its logs and pid file.
  const { uid, gid } = lookupUser(user);
  chownSync(dir, uid, gid);
  for (const f of ['hosts', 'squid.conf']) chownSync(join(dir, f), uid, gid);
}

function lookupUser(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l: string) => l.startsWith(`${user}:`));
  const f = line?.split(':');
  if (!f) throw new Error(`no user ${user} (is squid installed?)`);
  return { uid: Number(f[2]), gid: Number(f[3]) };
}
