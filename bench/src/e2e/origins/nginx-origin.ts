/**
 * The HTTP origin: our own nginx (not the system one) on a loopback port, one worker, serving /1k.txt (1024 bytes)
 * with keep-alive and no access log, from a temporary prefix directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, freePort, spawnDaemon, waitForPort } from '../system/processes.js';

export const ORIGIN_PATH = '/1k.txt';
export const ORIGIN_BYTES = 1024;

export interface NginxOrigin {
  readonly port: number;
  readonly daemon: Daemon;
}

/** Starts nginx in `dir` (its own prefix, config, logs), pinned to `cpu`. */
export async function startNginx(dir: string, cpu: number | undefined): Promise<NginxOrigin> {
  const port = await freePort();
  const www = join(dir, 'www');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, '1k.txt'), 'x'.repeat(ORIGIN_BYTES - 1) + '\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `# written by the cuttle bench
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${www};
  }
}
`,
  );
  const daemon = spawnDaemon({
    name: 'nginx',
    command: 'nginx',
    args: ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    cpu,
    logFile: join(dir, 'nginx.out'),
  });
  await waitForPort(port, 10_000, daemon);
  return { port, daemon };
}
