export * from './reasons.js';
export type * from './types.js';
