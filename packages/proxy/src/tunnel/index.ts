// CONNECT tunnels: decision, guard, upstream connect (direct or via the parent), SNI check, relay.
export { type ClientHelloResult, normalizeSni, parseClientHello } from './client-hello.js';
export { handleConnect } from './handle-connect.js';
