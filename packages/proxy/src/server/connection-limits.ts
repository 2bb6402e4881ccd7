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
  #accepting = true;
  #budget = Number.POSITIVE_INFINITY;
  #onBudgetSpent: () => void = () => {};
  #refused = 0;

  /**
   * Descriptor state from the guard (lifecycle/descriptor-guard.ts): `accepting` false while descriptors run short;
   * `budget`, how many more connections may be accepted before it counts again; `onBudgetSpent` asks it to count
   * now.
   */
  setDescriptors(accepting: boolean, budget: number, onBudgetSpent: () => void): void {
    this.#accepting = accepting;
    this.#budget = budget;
    this.#onBudgetSpent = onBudgetSpent;
  }

  /**
   * True when a new connection may be accepted as far as descriptors go; false (and counted as refused) while they
   * run short or until the guard has counted again.
   */
  takeDescriptor(): boolean {
    if (this.#accepting && this.#budget > 0) {
      if (--this.#budget === 0) this.#onBudgetSpent();
      return true;
    }
    // Spent: the guard is counting (or about to); ask again so a quiet timer does not leave us refusing.
    if (this.#accepting) this.#onBudgetSpent();
    this.#refused++;
    return false;
  }

  /** Connections closed at accept because descriptors ran short, since start. */
  get refused(): number {
    return this.#refused;
  }

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
