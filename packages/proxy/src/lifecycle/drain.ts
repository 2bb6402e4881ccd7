/**
 * Drain (SIGTERM, SIGINT): stop accepting, give in-flight requests and open tunnels `timeouts.drain_ms` to finish,
 * then close what is left (tunnels with close reason `drain`, so each still writes its log line).
 *
 *   listeners closed --> idle keep-alives and silent ones closed every POLL_MS --> all connections gone? done
 *                                                               --> drain_ms over? close tunnels, destroy the rest
 */
import type { TunnelRegistry } from '../core/tunnel-registry.js';
import type { ClientSockets } from './client-sockets.js';

/** How often idle keep-alive connections are closed while draining, ms. */
const POLL_MS = 100;

export interface DrainOptions {
  /** The signal that started the drain (for the message). */
  readonly signal: NodeJS.Signals;
  /** Stops accepting on every listener (resolves once the listeners are closed, or earlier: not awaited for long). */
  readonly stopAccepting: () => Promise<void>;
  readonly sockets: ClientSockets;
  /** The instance's open tunnels (closed with reason `drain` when time runs out). */
  readonly tunnels: TunnelRegistry;
  readonly drainMs: number;
  readonly say: (line: string) => void;
  /** Resolves to cut the wait short (a second signal). */
  readonly forced: Promise<void>;
}

/** Runs the drain; resolves once no client connection is left. */
export async function drainConnections(options: DrainOptions): Promise<void> {
  const { sockets } = options;
  const closing = options.stopAccepting();
  // Said only now: whoever reads "draining" can rely on the listeners being closed.
  options.say(`${options.signal}: draining`);
  const open = sockets.size;
  if (open > 0) options.say(`draining ${open} connection(s) for up to ${options.drainMs} ms`);
  const poll = setInterval(() => sockets.closeIdle(), POLL_MS);
  sockets.closeIdle();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.drainMs);
  });
  const outcome = await Promise.race([
    sockets.whenEmpty().then(() => 'empty' as const),
    timedOut,
    options.forced.then(() => 'forced' as const),
  ]);
  clearInterval(poll);
  clearTimeout(timer);
  if (outcome !== 'empty') {
    const tunnels = options.tunnels.closeAll();
    const rest = sockets.destroyAll();
    options.say(
      `drain ${outcome === 'forced' ? 'cut short' : 'time over'}: closed ${tunnels} tunnel(s), ${rest} connection(s)`,
    );
    // Their close events, and with them the tunnels' and requests' last log lines, come on later turns.
    await sockets.whenEmpty();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await closing;
}
