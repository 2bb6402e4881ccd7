/**
 * The proxy server: every `listen` entry bound (never a wildcard; `unix:PATH` sockets too), each with its own
 * http.Server sharing one connection count and the context of the moment.
 */
import { parseListenAddress } from '@cuttle/shared';
import type { ProxyContext } from '../core/context.js';
import { ConnectionLimits } from './connection-limits.js';
import { applyServerOptions, createProxyHttpServer } from './http-server.js';
import { Listener } from './listener.js';
import { unixClientLabel } from './unix-socket.js';

export type { ClientInfo } from '../core/client.js';
export { clientOf } from '../core/client.js';
export { UnixSocketError, unixClientLabel } from './unix-socket.js';

export interface ProxyServerOptions {
  /** The current context; `setContext` on the result swaps it. */
  readonly context: ProxyContext;
  /** Where the proxy's own messages go (stderr in `cuttle run`). */
  readonly say: (line: string) => void;
}

export interface ProxyServer {
  /**
   * Replaces the context used by new requests (reload). In-flight work keeps its own. A changed `unix_socket` is
   * applied to the unix sockets already bound.
   */
  setContext(ctx: ProxyContext): void;
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
  /**
   * Reload: binds the entries new in `listen`, then stops accepting on the removed ones (their in-flight
   * connections go on); unchanged entries stay bound. Rejects, changing nothing, if a new entry cannot be bound.
   */
  setListen(listen: readonly string[]): Promise<void>;
  /**
   * Per-instance sockets (`identity.socket_dir`): keeps `DIR/NAME.sock` bound for every name and only those (dir
   * null: none). A socket that cannot be bound is said and left out (tried again on the next call); the others go
   * on. Calls run one after another. Resolves when the binds are done.
   */
  setInstanceSockets(dir: string | null, names: readonly string[]): Promise<void>;
  readonly listeners: readonly Listener[];
  /** Why each proxy listener that is not bound right now is not (empty when every one is): /healthz says so. */
  unbound(): string[];
  /**
   * Stops (false) or resumes (true) taking proxy connections: while stopped each one is closed at accept. `budget`:
   * how many may be accepted before `onBudgetSpent` must count descriptors again.
   */
  setDescriptors(accepting: boolean, budget: number, onBudgetSpent: () => void): void;
  /** Connections closed at accept while not accepting, since start. */
  readonly refused: number;
}

/** Parses `listen`, binds every entry and returns the running server. Rejects if a fixed address cannot be bound. */
export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  let current = options.context;
  const context = (): ProxyContext => current;
  const limits = new ConnectionLimits();
  const makeListener = (text: string): Listener => {
    const spec = parseListenAddress(text);
    const unixLabel = spec.kind === 'unix' ? unixClientLabel(spec.path) : undefined;
    return new Listener({
      spec,
      say: options.say,
      createServer: (zone) => createProxyHttpServer({ context, zone, limits, unixLabel }),
      unixAccess: () => current.config.unix_socket,
      endpoints: current.instance.endpoints,
    });
  };
  const byText = new Map(current.config.listen.map((text) => [text, makeListener(text)] as const));
  const listeners = [...byText.values()];
  // Per-instance sockets, by listen text; kept apart from `listen` so a reload of `listen` leaves them alone.
  const instances = new Map<string, Listener>();
  let instanceQueue: Promise<void> = Promise.resolve();
  let closing = false;
  const syncInstances = async (dir: string | null, names: readonly string[]): Promise<void> => {
    if (closing) return;
    const wanted = new Set(dir === null ? [] : names.map((n) => `unix:${dir.replace(/\/+$/, '')}/${n}.sock`));
    for (const [text, l] of [...instances]) {
      if (wanted.has(text)) continue;
      instances.delete(text);
      const at = listeners.indexOf(l);
      if (at !== -1) listeners.splice(at, 1);
      options.say(`instance socket ${text.slice('unix:'.length)}: the instance left the identity map`);
      // Not awaited: close resolves when the last open connection ends; the file goes at once.
      void l.close();
    }
    for (const text of wanted) {
      if (instances.has(text) || byText.has(text)) continue;
      try {
        const l = makeListener(text);
        await l.start();
        if (closing) {
          // close() ran while this socket was being bound.
          await l.close();
          return;
        }
        instances.set(text, l);
        listeners.push(l);
      } catch (err) {
        options.say(`instance socket: ${(err as Error).message}`);
      }
    }
  };
  try {
    for (const l of listeners) await l.start();
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return {
    listeners,
    unbound: () => listeners.map((l) => l.unbound).filter((why): why is string => why !== null),
    setDescriptors(accepting, budget, onBudgetSpent) {
      limits.setDescriptors(accepting, budget, onBudgetSpent);
    },
    get refused() {
      return limits.refused;
    },
    setContext(ctx) {
      const before = current.config.unix_socket;
      current = ctx;
      for (const l of listeners) if (l.server !== null) applyServerOptions(l.server, ctx.config);
      const after = ctx.config.unix_socket;
      if (before.mode === after.mode && before.owner === after.owner && before.group === after.group) return;
      // Sockets kept across the reload get the new mode and owner too (new ones were bound with them).
      for (const l of listeners)
        l.applyAccess(after).catch((err: Error) => options.say(`reload: ${err.message}`));
    },
    async close() {
      // Synchronously: whoever calls close relies on the listeners no longer accepting once it returns a promise.
      // An instance socket being bound right now closes itself when its bind ends (see syncInstances).
      closing = true;
      const closed = Promise.all(listeners.map((l) => l.close()));
      await instanceQueue;
      await closed;
    },
    setInstanceSockets(dir, names) {
      instanceQueue = instanceQueue.then(() => syncInstances(dir, [...names]));
      return instanceQueue;
    },
    async setListen(listen) {
      const fresh: [string, Listener][] = [];
      try {
        for (const text of listen) {
          if (byText.has(text) || fresh.some(([t]) => t === text)) continue;
          const l = makeListener(text);
          fresh.push([text, l]);
          await l.start();
        }
      } catch (err) {
        await Promise.all(fresh.map(([, l]) => l.close()));
        throw err;
      }
      for (const [text, l] of fresh) byText.set(text, l);
      const gone = [...byText].filter(([text]) => !listen.includes(text));
      for (const [text] of gone) byText.delete(text);
      listeners.splice(0, listeners.length, ...byText.values(), ...instances.values());
      // Not awaited: a removed listener's close resolves only when its last in-flight connection ends.
      for (const [, l] of gone) void l.close();
    },
  };
}
