export type * from './context.js';
