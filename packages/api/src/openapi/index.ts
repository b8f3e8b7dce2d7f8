export * from './schema.js';
export * from './definitions.js';
export * from './navigate.js';
export * from './document.js';
export * from './fields.js';
