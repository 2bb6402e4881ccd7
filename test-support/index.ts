export * from './needs.js';
