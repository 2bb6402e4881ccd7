// @cuttle/shared: pure code, no I/O. config file -> validated config -> compiled policy -> per-request decision.
export * from './config/index.js';
export * from './host/index.js';
export * from './net/index.js';
export * from './policy/index.js';
export * from './squid/index.js';
