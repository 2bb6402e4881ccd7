/**
 * The client of a connection as the policy sees it, computed once when the connection is accepted and read by the
 * traffic paths (forward and tunnel) through `clientOf(socket)`.
 */
import type { Socket } from 'node:net';
import type { ClientAddress, ListenerFacts } from '@cuttle/shared';

/** Per-connection facts set by the server at accept time. */
export interface ClientInfo {
  readonly address: ClientAddress;
  /** `fe80::2%lxdbr0`: the address with its zone, as logged in AccessRecord.client. */
  readonly label: string;
  /** What the listener knows (its zone, unix or not): handed to the policy, which applies the zone rule. */
  readonly listener: ListenerFacts;
  /** True on a unix socket listener: a client by definition (`clients` applies to IP listeners only). */
  readonly unix: boolean;
  /**
   * The header-count limit node gave this connection's parser when it was accepted: a reload does not change it,
   * and on Node 20 the headers past it still frame the body, so a request is checked against the lower of it and
   * the loaded `limits.max_header_count`.
   */
  readonly maxHeaderCount: number;
}

const INFO = Symbol('cuttle.client');
const UNIX_LISTENER: ListenerFacts = Object.freeze({ unix: true });
type Tagged = Socket & { [INFO]?: ClientInfo };

/** Splits `fe80::2%eth0` into address and zone. */
export function parseClientAddress(remote: string): ClientAddress {
  const pct = remote.indexOf('%');
  if (pct === -1) return { address: remote };
  return { address: remote.slice(0, pct), zone: remote.slice(pct + 1) };
}

/**
 * Records the client facts on a freshly accepted socket. On a unix listener `unixLabel` (`unix:NAME`, from the
 * socket's file name) is the identity: the peer has no address.
 */
export function tagClient(
  socket: Socket,
  listenerZone: string | undefined,
  unixLabel?: string | undefined,
  maxHeaderCount = Number.POSITIVE_INFINITY,
): ClientInfo {
  let info: ClientInfo;
  if (unixLabel !== undefined) {
    info = {
      address: { address: unixLabel },
      label: unixLabel,
      listener: UNIX_LISTENER,
      unix: true,
      maxHeaderCount,
    };
  } else {
    const remote = socket.remoteAddress ?? '';
    const address = parseClientAddress(remote);
    info = { address, label: remote, listener: { zone: listenerZone }, unix: false, maxHeaderCount };
  }
  (socket as Tagged)[INFO] = info;
  return info;
}

// No address: the policy's client check denies it (fail closed).
const UNKNOWN: ClientInfo = {
  address: { address: '' },
  label: '',
  listener: {},
  unix: false,
  maxHeaderCount: Number.POSITIVE_INFINITY,
};

/** The client facts of a socket accepted by the proxy server (fail closed for anything else). */
export function clientOf(socket: Socket): ClientInfo {
  return (socket as Tagged)[INFO] ?? UNKNOWN;
}
