/**
 * The proxy server: every `listen` entry bound (never a wildcard), each with its own http.Server sharing one
 * connection count and the context of the moment.
 */
import { parseListenAddress } from '@cuttle/shared';
import type { ProxyContext } from '../context.js';
import { ConnectionLimits } from './connection-limits.js';
import { createProxyHttpServer } from './http-server.js';
import { Listener } from './listener.js';

export type { ClientInfo } from './client.js';
export { clientOf } from './client.js';

export interface ProxyServerOptions {
  /** The current context; `setContext` on the result swaps it. */
  readonly context: ProxyContext;
  /** Where the proxy's own messages go (stderr in `cuttle run`). */
  readonly say: (line: string) => void;
}

export interface ProxyServer {
  /** Replaces the context used by new requests (reload). In-flight work keeps its own. */
  setContext(ctx: ProxyContext): void;
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
  readonly listeners: readonly Listener[];
}

/** Parses `listen`, binds every entry and returns the running server. Rejects if a fixed address cannot be bound. */
export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  let current = options.context;
  const context = (): ProxyContext => current;
  const limits = new ConnectionLimits();
  const specs = current.config.listen.map(parseListenAddress);
  const listeners = specs.map(
    (spec) =>
      new Listener({
        spec,
        say: options.say,
        createServer: (zone) => createProxyHttpServer({ context, zone, limits }),
      }),
  );
  try {
    for (const l of listeners) await l.start();
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return {
    listeners,
    setContext(ctx) {
      current = ctx;
    },
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
