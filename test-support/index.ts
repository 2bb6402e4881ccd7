export * from './lxd.js';
export * from './lxd-world.js';
export * from './needs.js';
export * from './netns.js';
export * from './origin.js';
export * from './proxy-process.js';
export * from './raw-http.js';
export * from './wait.js';
