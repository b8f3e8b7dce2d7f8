export * from './errors.js';
export * from './json-patch.js';
export * from './merge-patch.js';
export * from './strategic.js';
export * from './patch-type.js';
export { isObject, type JsonObject } from './json-value.js';
