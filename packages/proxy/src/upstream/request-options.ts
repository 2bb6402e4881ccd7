/**
 * Plain HTTP through the parent proxy, for the forward path: the request goes to a checked parent address in
 * absolute-form (forward/send-upstream.ts adds our Proxy-Authorization), after our own decision and header hygiene.
 *
 *   decide (ours) -> hygiene (ours) -> resolve + guard the PARENT's host -> origin pool, path absoluteTarget()
 */

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
