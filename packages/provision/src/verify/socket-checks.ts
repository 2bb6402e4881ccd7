/**
 * `verify` in socket mode. On the host: cuttle answers on its unix socket (a denied name gets 403 there). From inside
 * a socket-mode instance: its only interface is `lo`, the LXD proxy device answers on 127.0.0.1:PORT (any status,
 * or 2xx for `--url`), and a denied name gets 403 through it.
 */
import { createConnection } from 'node:net';
import type { HostConfig } from '../host-config/schema.js';
import type { LxdClient } from '../lxd/client.js';
import { execInInstance } from '../lxd/exec.js';
import { containerProxyUrl } from '../render/proxy-url.js';
import { type CheckResult, check } from './check.js';

/** A name no allowlist holds and no resolver answers: the proxy must refuse it with 403. */
export const DENIED_URL = 'http://cuttle-verify.invalid/';

/** The first status line cuttle sends for `GET DENIED_URL` on unix socket `path`. */
function statusOverSocket(path: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path });
    let buf = '';
    const timer = setTimeout(() => sock.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () =>
      sock.write(`GET ${DENIED_URL} HTTP/1.1\r\nHost: cuttle-verify.invalid\r\nConnection: close\r\n\r\n`),
    );
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n')) sock.destroy();
    });
    sock.once('close', () => {
      clearTimeout(timer);
      const line = buf.split('\r\n')[0] ?? '';
      if (line === '') reject(new Error('closed without an answer'));
      else resolve(line);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Host check: cuttle answers on `socket.path` and refuses a denied name. */
export async function socketHostChecks(config: HostConfig): Promise<CheckResult[]> {
  const path = config.socket.path;
  return [
    await check(`proxy answers on unix:${path}`, async () => {
      const line = await statusOverSocket(path);
      return [/^HTTP\/1\.[01] 403\b/.test(line), `denied name: ${line}`];
    }),
  ];
}

/** The status code in busybox `wget -S` output, if any. */
function wgetStatus(stderr: string): string | undefined {
  return /HTTP\/1\.[01] (\d{3})/.exec(stderr)?.[1];
}

/** Every check from inside socket-mode instance `name` (after `running`). */
export async function socketInstanceChecks(
  client: LxdClient,
  config: HostConfig,
  name: string,
  url?: string,
): Promise<CheckResult[]> {
  const proxyUrl = containerProxyUrl(config, 'socket');
  const env = { http_proxy: proxyUrl, https_proxy: proxyUrl };
  const fetch = (target: string) =>
    execInInstance(client, name, ['timeout', '10', 'wget', '-S', '-O', '/dev/null', target], env);
  const out: CheckResult[] = [];
  out.push(
    await check(`${name}: no interface but lo`, async () => {
      const r = await execInInstance(client, name, ['ip', '-o', 'link']);
      const names = r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split(':')[1]?.trim().replace(/@.*$/, '') ?? '');
      return [r.code === 0 && names.length === 1 && names[0] === 'lo', names.join(', ') || r.stderr.trim()];
    }),
  );
  out.push(
    await check(`${name}: proxy answers at ${proxyUrl}`, async () => {
      const r = await fetch(url ?? DENIED_URL);
      const status = wgetStatus(r.stderr);
      if (url !== undefined)
        return [r.code === 0 && status?.startsWith('2') === true, `${url}: ${status ?? r.stderr.trim()}`];
      return [status !== undefined, status === undefined ? r.stderr.trim() : `proxy answered ${status}`];
    }),
  );
  out.push(
    await check(`${name}: a denied name gets 403`, async () => {
      const r = await fetch(DENIED_URL);
      const status = wgetStatus(r.stderr);
      return [status === '403', `${DENIED_URL}: ${status ?? (r.stderr.trim() || `exit ${r.code}`)}`];
    }),
  );
  return out;
}
