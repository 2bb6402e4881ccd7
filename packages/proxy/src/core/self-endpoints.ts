/**
 * The TCP endpoints this process is bound to (proxy listeners and the metrics listener), kept current as listeners
 * bind, rebind and close, so the traffic paths can refuse to connect to themselves (`self_loop`). One per running
 * instance; the listeners register, the context asks.
 */
import { networkInterfaces } from 'node:os';
import { isSelfLoop, type SelfEndpoint } from '@cuttle/shared';

/** This host's interface addresses, read when a destination port is one we listen on (rare: no cache needed). */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

/** The bound endpoints of one running instance. */
export class SelfEndpoints {
  readonly #endpoints = new Set<SelfEndpoint>();
  #ports = new Set<number>();

  /** Records a bound endpoint; the returned function removes it (on close or rebind). */
  add(endpoint: SelfEndpoint): () => void {
    this.#endpoints.add(endpoint);
    this.#ports.add(endpoint.port);
    return () => {
      this.#endpoints.delete(endpoint);
      this.#ports = new Set([...this.#endpoints].map((e) => e.port));
    };
  }

  /** True when connecting to `address:port` would reach one of our own listeners. */
  isSelf(address: string, port: number): boolean {
    // The common case (origin ports 80/443, proxy on 3128) costs one set lookup.
    if (!this.#ports.has(port)) return false;
    return isSelfLoop(address, port, [...this.#endpoints], localAddresses());
  }
}
