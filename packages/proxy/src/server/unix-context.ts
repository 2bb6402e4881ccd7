/**
 * The context a unix listener's traffic sees, derived from the context of the moment (once per reload and socket).
 */
import type { DecisionInput, Policy } from '@cuttle/shared';
import type { AccessRecord, ProxyContext } from '../core/context.js';
import { type IdentityEntry, type IdentityMap, withContainerGrants } from '../identity/index.js';

/** Per context, its view for one unix listener (built once per reload and socket, not per request). */
const UNIX_VIEWS = new WeakMap<ProxyContext, Map<string, ProxyContext>>();

/**
 * The context as a unix listener's traffic sees it. The policy decides without the client checks: a peer on the
 * socket is a client by definition (whoever can open the file was let in by its mode and owner). The socket's name
 * is the identity: `containers.NAME` grants apply to it (the socket is host-side configuration, so the identity
 * cannot be spoofed, unlike an unfiltered fe80 address), and records carry it as `container`.
 */
export function unixContext(ctx: ProxyContext, label: string): ProxyContext {
  let views = UNIX_VIEWS.get(ctx);
  if (views === undefined) {
    views = new Map();
    UNIX_VIEWS.set(ctx, views);
  }
  let view = views.get(label);
  if (view === undefined) {
    const name = label.slice('unix:'.length);
    const inner = ctx.policy;
    const withoutClient: Policy = {
      decide: (input: DecisionInput) => inner.decide({ ...input, client: undefined }),
    };
    const self: IdentityEntry = { name, mac: '', address: label, bridge: null, filtered: true };
    const identity: IdentityMap = {
      lookup: (c) => (c === label ? self : null),
      entries: [self],
      sockets: [],
    };
    const record = ctx.record;
    view = Object.freeze({
      ...ctx,
      policy: withContainerGrants(withoutClient, ctx.config, () => identity),
      record: (entry: AccessRecord) => {
        if (entry.container === null) entry.container = name;
        record(entry);
      },
    });
    views.set(label, view);
  }
  return view;
}
