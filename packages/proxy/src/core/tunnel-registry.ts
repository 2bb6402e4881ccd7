/**
 * The tunnels open right now, so the running instance can count them and close them when a drain runs out of time.
 * One registry per running instance (created by `serve`, or by a test's server), never a module singleton.
 */

/** What the registry needs of an established tunnel (tunnel/relay.ts's Relay). */
export interface TrackedTunnel {
  /** Bytes held in its write buffers. */
  buffered(): number;
  /** Closes it with close reason `drain`; it still records its own AccessRecord. */
  close(reason: 'drain'): void;
}

/** The open tunnels of one running instance. */
export class TunnelRegistry {
  readonly #open = new Set<TrackedTunnel>();

  /** Adds a tunnel; returns the function that removes it (called once the tunnel is done). */
  track(tunnel: TrackedTunnel): () => void {
    this.#open.add(tunnel);
    return () => {
      this.#open.delete(tunnel);
    };
  }

  /** Number of established tunnels. */
  openCount(): number {
    return this.#open.size;
  }

  /** Bytes the open tunnels hold in their write buffers, summed (a gauge: backpressure keeps it near zero). */
  bufferedBytes(): number {
    let n = 0;
    for (const tunnel of this.#open) n += tunnel.buffered();
    return n;
  }

  /** Closes every established tunnel (closeReason `drain`); each still records its own AccessRecord. */
  closeAll(): number {
    const n = this.#open.size;
    for (const tunnel of [...this.#open]) tunnel.close('drain');
    return n;
  }
}
