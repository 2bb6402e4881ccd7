/**
 * Connection limits, in total and per client address. Counted at accept time, released on close. Over a limit the
 * connection is answered 503 (`over_limit: reject`) or closed at once (`drop`); either way it is recorded as a
 * `limit_exceeded` deny.
 */
import type { Socket } from 'node:net';

/** Counts open client connections. */
export class ConnectionLimits {
  #total = 0;
  readonly #perClient = new Map<string, number>();

  /** Admits the socket (and arranges its release on close), or returns false when a limit is reached. */
  admit(socket: Socket, client: string, maxTotal: number, maxPerClient: number): boolean {
    const mine = this.#perClient.get(client) ?? 0;
    if (this.#total >= maxTotal || mine >= maxPerClient) return false;
    this.#total++;
    this.#perClient.set(client, mine + 1);
    socket.once('close', () => {
      this.#total--;
      const n = (this.#perClient.get(client) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(client);
      else this.#perClient.set(client, n);
    });
    return true;
  }

  get total(): number {
    return this.#total;
  }
}
