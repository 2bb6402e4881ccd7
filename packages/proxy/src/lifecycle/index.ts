export { buildContext } from './build-context.js';
export { ClientSockets } from './client-sockets.js';
export { type DrainOptions, drainConnections } from './drain.js';
export { loadReloadCandidate, type ReloadResult } from './reload.js';
export { type ServeOptions, serve } from './serve.js';
export { installSignalHandlers, type SignalActions } from './signals.js';
