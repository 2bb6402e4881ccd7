/**
 * The client of a connection as the policy sees it, computed once when the connection is accepted and read by the
 * traffic paths (forward and tunnel) through `clientOf(socket)`.
 */
import type { Socket } from 'node:net';
import type { ClientAddress } from '@cuttle/shared';

/** Per-connection facts set by the server at accept time. */
export interface ClientInfo {
  readonly address: ClientAddress;
  /** `fe80::2%lxdbr0`: the address with its zone, as logged in AccessRecord.client. */
  readonly label: string;
  /** True when the listener is zoned and the client arrived with another zone: always denied (`client_denied`). */
  readonly zoneMismatch: boolean;
  /** True on a unix socket listener: a client by definition (`clients` applies to IP listeners only). */
  readonly unix: boolean;
}

const INFO = Symbol('cuttle.client');
type Tagged = Socket & { [INFO]?: ClientInfo };

/** Splits `fe80::2%eth0` into address and zone. */
export function parseClientAddress(remote: string): ClientAddress {
  const pct = remote.indexOf('%');
  if (pct === -1) return { address: remote };
  return { address: remote.slice(0, pct), zone: remote.slice(pct + 1) };
}

/**
 * The zone rule: a listener bound to a zoned (link-local) address only serves clients whose zone is that same
 * interface. The kernel already refuses other interfaces for a zoned bind; this is the second check.
 */
export function isZoneMismatch(client: ClientAddress, listenerZone: string | undefined): boolean {
  if (listenerZone === undefined) return false;
  return client.zone !== listenerZone;
}

/**
 * Records the client facts on a freshly accepted socket. On a unix listener `unixLabel` (`unix:NAME`, from the
 * socket's file name) is the identity: the peer has no address.
 */
export function tagClient(
  socket: Socket,
  listenerZone: string | undefined,
  unixLabel?: string | undefined,
): ClientInfo {
  let info: ClientInfo;
  if (unixLabel !== undefined) {
    info = { address: { address: unixLabel }, label: unixLabel, zoneMismatch: false, unix: true };
  } else {
    const remote = socket.remoteAddress ?? '';
    const address = parseClientAddress(remote);
    info = { address, label: remote, zoneMismatch: isZoneMismatch(address, listenerZone), unix: false };
  }
  (socket as Tagged)[INFO] = info;
  return info;
}

const UNKNOWN: ClientInfo = { address: { address: '' }, label: '', zoneMismatch: true, unix: false };

/** The client facts of a socket accepted by the proxy server (fail closed for anything else). */
export function clientOf(socket: Socket): ClientInfo {
  return (socket as Tagged)[INFO] ?? UNKNOWN;
}
