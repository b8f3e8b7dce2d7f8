export * from './duration.js';
export * from './printers.js';
export * from './table.js';
