/**
 * Plain HTTP through the parent proxy, for the forward path: the request goes to a checked parent address in
 * absolute-form with our Proxy-Authorization, after our own decision and header hygiene.
 *
 *   decide (ours) -> hygiene (ours) -> resolve + guard the PARENT's host -> http.request(upstreamRequestOptions())
 */
import type { OutgoingHttpHeaders, RequestOptions } from 'node:http';
import type { ParentProxy } from './parent-proxy.js';

export interface ParentRequestTarget {
  /** Normalised destination host (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Path and query, starting with `/`. */
  readonly path: string;
}

/** The absolute-form request target sent to a parent: `http://host[:port]/path` (port omitted when 80). */
export function absoluteTarget(target: ParentRequestTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === 80 ? `http://${host}${target.path}` : `http://${host}:${target.port}${target.path}`;
}

/**
 * `http.request` options that send a forwarded request to the parent at `address` (a checked address of the
 * parent's host): absolute-form path, the caller's already-cleaned headers plus `Proxy-Authorization` when the
 * parent has credentials, and `setHost: false` (the caller's Host, rewritten from the target, is kept). Pass an
 * `agent` in `extra` to pool connections to the parent.
 */
export function upstreamRequestOptions(
  parent: ParentProxy,
  address: string,
  method: string,
  target: ParentRequestTarget,
  headers: OutgoingHttpHeaders,
  extra: RequestOptions = {},
): RequestOptions {
  const out: OutgoingHttpHeaders = { ...headers };
  if (out.host === undefined) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    out.host = target.port === 80 ? host : `${host}:${target.port}`;
  }
  if (parent.authorization !== null) out['proxy-authorization'] = parent.authorization;
  return {
    ...extra,
    host: address,
    port: parent.port,
    method,
    path: absoluteTarget(target),
    headers: out,
    setHost: false,
  };
}
