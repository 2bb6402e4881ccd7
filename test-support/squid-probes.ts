/**
 * Requests for differential tests against Squid: one probe is one request (a method, a host as written, a port,
 * a client address), sent raw to a proxy on loopback; the answer is reduced to a verdict.
 */
import * as net from 'node:net';
import { parseRawResponse } from './raw-http.js';

/**
 * 403 is a deny. An origin's answer or an upstream failure after the policy allowed (Squid 500/502/503, cuttle 502)
 * is an allow. Any other status (400: the proxy refused to parse the request) is a rejection, kept with its status.
 */
export type Verdict = 'allow' | 'deny' | `reject ${number}`;
export const verdictOf = (status: number): Verdict =>
  status === 403
    ? 'deny'
    : status >= 200 && status !== 501 && (status < 400 || status >= 500)
      ? 'allow'
      : `reject ${status}`;

export interface ProbeAnswer {
  /** 0: no status line came. */
  readonly status: number;
  /** The `X-Cuttle-Deny` header, if any. */
  readonly reason: string | undefined;
}

export interface ProbeRequest {
  readonly method: string;
  /** The host as written in the request target (`allowed.test`, `[::1]`, `0x7f000001`). */
  readonly host: string;
  /** null: no port in the target. */
  readonly port: number | null;
  /** The local address the client connects from (a loopback address). */
  readonly from: string;
}

/** Sends one request to the proxy on 127.0.0.1:`proxyPort` and reads its status line. */
export function sendProbe(proxyPort: number, p: ProbeRequest): Promise<ProbeAnswer> {
  const authority = p.port === null ? p.host : `${p.host}:${p.port}`;
  const body =
    p.method === 'POST' || p.method === 'PUT' || p.method === 'PATCH' ? 'Content-Length: 0\r\n' : '';
  const head =
    p.method === 'CONNECT'
      ? `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`
      : `${p.method} http://${authority}/conformance HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n${body}\r\n`;
  return new Promise((resolve) => {
    let raw = '';
    const s = net.connect({ host: '127.0.0.1', port: proxyPort, localAddress: p.from });
    const done = (): void => {
      s.destroy();
      const r = parseRawResponse(raw, true);
      resolve({ status: r.status, reason: r.headers['x-cuttle-deny'] });
    };
    s.setTimeout(10_000, done);
    s.on('connect', () => s.write(head));
    s.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      if (raw.includes('\r\n\r\n')) done();
    });
    s.on('close', done);
    s.on('error', done);
  });
}

/** Sends every probe to one proxy, `concurrency` at a time; answers in probe order. */
export async function sendProbes(
  proxyPort: number,
  probes: readonly ProbeRequest[],
  concurrency = 8,
): Promise<ProbeAnswer[]> {
  const out: ProbeAnswer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < probes.length) {
      const i = next++;
      out[i] = await sendProbe(proxyPort, probes[i] as ProbeRequest);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
