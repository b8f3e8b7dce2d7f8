/** Walking the schema table alongside a JSON document. */
import { DEFINITIONS, definitionForKind } from './definitions.js';
import type { ArraySchema, FieldSchema, StructSchema } from './schema.js';

/** The root schema of a kind (`Pod`), or undefined for a kind we do not describe. */
export function schemaForKind(kind: string, apiVersion?: string): FieldSchema | undefined {
  const name = definitionForKind(kind, apiVersion);
  return name ? { type: 'ref', ref: name } : undefined;
}

/** The struct a schema names, if it is a reference. */
export function structOf(schema: FieldSchema | undefined): StructSchema | undefined {
  if (schema?.type !== 'ref') return undefined;
  const def = DEFINITIONS[schema.ref];
  if (!def) throw new Error(`openapi: no schema definition named ${schema.ref}`);
  return def;
}

/**
 * The schema of `key` inside an object described by `schema`: a struct's
 * property, a map's value type, or free for free-form parts. Undefined when
 * the key is not part of the schema (an unknown field) or nothing is known.
 */
export function childSchema(schema: FieldSchema | undefined, key: string): FieldSchema | undefined {
  if (!schema) return undefined;
  if (schema.type === 'map') return schema.values;
  if (schema.type === 'free') return schema;
  const def = structOf(schema);
  if (!def) return undefined;
  return Object.prototype.hasOwnProperty.call(def.properties, key) ? def.properties[key] : undefined;
}

export function asArraySchema(schema: FieldSchema | undefined): ArraySchema | undefined {
  return schema?.type === 'array' ? schema : undefined;
}
