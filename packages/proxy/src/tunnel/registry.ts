/**
 * The tunnels open right now, so the server can count them and close them when a drain runs out of time.
 */
import type { Relay } from './relay.js';

const OPEN = new Set<Relay>();

/** Adds a relay; returns the function that removes it (called once the tunnel is done). */
export function trackRelay(relay: Relay): () => void {
  OPEN.add(relay);
  return () => {
    OPEN.delete(relay);
  };
}

/** Number of established tunnels. */
export function openTunnelCount(): number {
  return OPEN.size;
}

/** Bytes the open tunnels hold in their write buffers, summed (a gauge: backpressure keeps it near zero). */
export function tunnelBufferedBytes(): number {
  let n = 0;
  for (const relay of OPEN) n += relay.buffered();
  return n;
}

/** Closes every established tunnel (closeReason `drain`); each still records its own AccessRecord. */
export function closeAllTunnels(): number {
  const n = OPEN.size;
  for (const relay of [...OPEN]) relay.close('drain');
  return n;
}
