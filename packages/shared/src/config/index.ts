export * from '../errors.js';
export * from './changed-keys.js';
export * from './listen-address.js';
export * from './load-config.js';
export * from './reference.js';
export * from './schema.js';
export * from './validators.js';
