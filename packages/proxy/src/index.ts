export type * from './core/context.js';
