/**
 * Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`), which
 * kubectl 1.32 relies on once the OpenAPI document advertises the parameter:
 * unknown fields in a create / update / patch body are rejected (Strict, the
 * value kubectl sends), reported as warnings (Warn, the server default), or
 * silently dropped (Ignore). Known-but-unmodelled parts of an object (`free`
 * in the schema table) accept anything.
 */
import { statusFor } from '../errors.js';
import { resourceByName, SUBRESOURCE_KINDS, apiVersionOf, type ResourceInfo } from '../resources.js';
import type { Status } from '../types.js';
import { childSchema, schemaForKind, structOf } from './navigate.js';
import type { FieldSchema } from './schema.js';
import { cloneJson } from '../patch/json-value.js';
import { MAX_OBJECT_DEPTH } from '../json-scan.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Parses the query parameter; unset means Warn, as on a real apiserver. Throws a one-line error otherwise. */
export function parseFieldValidation(value: string | null | undefined): FieldValidation {
  if (value === undefined || value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new Error(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`);
}

type ResourceRef = string | Pick<ResourceInfo, 'resource' | 'kind' | 'group' | 'version'>;

/**
 * Kind and apiVersion of what a request body holds for a resource name
 * (`pods`, `po`, `Pod`) or subresource (`replicationcontrollers/scale` → Scale).
 */
export function bodyKindOf(resource: ResourceRef): { kind: string; apiVersion: string } | undefined {
  if (typeof resource !== 'string') return { kind: resource.kind, apiVersion: apiVersionOf(resource) };
  const [main = '', sub] = resource.split('/');
  const r = resourceByName(main);
  if (!r) return undefined;
  const special = sub ? SUBRESOURCE_KINDS[`${r.resource}/${sub}`] : undefined;
  if (special) return { kind: special.kind, apiVersion: apiVersionOf(special) };
  return { kind: r.kind, apiVersion: apiVersionOf(r) };
}

function rootSchema(resource: ResourceRef): FieldSchema {
  const k = bodyKindOf(resource);
  const schema = k ? schemaForKind(k.kind, k.apiVersion) : undefined;
  if (!schema) throw new Error(`no schema for resource ${typeof resource === 'string' ? resource : resource.resource}`);
  return schema;
}

function walk(value: unknown, schema: FieldSchema, path: string, found: string[], prune: boolean, depth = 0): void {
  // The schema bounds the depth; the guard is for a schema that ever refers to itself.
  if (depth > MAX_OBJECT_DEPTH) return;
  if (schema.type === 'array') {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, schema.items, `${path}[${i}]`, found, prune, depth + 1));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  if (schema.type === 'map') {
    for (const [k, v] of Object.entries(obj)) walk(v, schema.values, path === '' ? k : `${path}.${k}`, found, prune, depth + 1);
    return;
  }
  if (!structOf(schema)) return; // free-form or scalar
  for (const [k, v] of Object.entries(obj)) {
    const here = path === '' ? k : `${path}.${k}`;
    const sub = childSchema(schema, k);
    if (!sub) {
      found.push(here);
      if (prune) delete obj[k];
      continue;
    }
    walk(v, sub, here, found, prune, depth + 1);
  }
}

/**
 * Paths of the fields of `obj` its kind does not have, in document order,
 * e.g. `["spec.containers[0].imagee", "metadata.lables"]`.
 */
export function unknownFields(resource: ResourceRef, obj: unknown): string[] {
  const found: string[] = [];
  walk(obj, rootSchema(resource), '', found, false);
  return found;
}

/**
 * A copy of `obj` without its unknown fields: what the server stores under
 * Warn or Ignore. The copy is made without recursion (an unknown field may
 * nest 10,000 levels); the walk itself follows the schema, so it never goes
 * deeper than the kind does.
 */
export function dropUnknownFields<T>(resource: ResourceRef, obj: T): T {
  const copy = cloneJson(obj);
  walk(copy, rootSchema(resource), '', [], true);
  return copy;
}

export interface FieldValidationResult {
  /** Set under Strict when there are unknown fields: answer 400 with this Status. */
  error?: Status;
  /** Warning texts for the `Warning` response header (Warn). */
  warnings: string[];
  /** The object to go on with: unknown fields removed. */
  object: unknown;
}

/**
 * Applies a fieldValidation directive to a request body: the Strict error
 * reads like the real one, which kubectl prints as
 * `Error from server (BadRequest): error when creating "x.yaml": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"`.
 * `duplicates` are the body's repeated keys (scanJson), which the decoder
 * reports first: `duplicate field "metadata.name"`; JSON.parse kept the last value.
 */
export function validateFields(resource: ResourceRef, obj: unknown, directive: FieldValidation, duplicates: readonly string[] = []): FieldValidationResult {
  if (directive === 'Ignore') return { warnings: [], object: dropUnknownFields(resource, obj) };
  const unknown = unknownFields(resource, obj);
  const messages = [...duplicates.map((p) => `duplicate field "${p}"`), ...unknown.map((p) => `unknown field "${p}"`)];
  if (directive === 'Strict' && messages.length > 0) {
    return { error: statusFor(400, 'BadRequest', cannotBeHandled(resource, `strict decoding error: ${messages.join(', ')}`)), warnings: [], object: obj };
  }
  return { warnings: messages, object: unknown.length > 0 ? dropUnknownFields(resource, obj) : obj };
}

/** kube-apiserver's words for a body its decoder refused: `Pod in version "v1" cannot be handled as a Pod: <why>`. */
export function cannotBeHandled(resource: ResourceRef, why: string): string {
  const k = bodyKindOf(resource);
  if (!k) return why;
  const version = k.apiVersion.split('/').pop() ?? k.apiVersion;
  return `${k.kind} in version "${version}" cannot be handled as a ${k.kind}: ${why}`;
}

/** One `Warning` header value (RFC 7234 warn-code 299), which kubectl prints as `Warning: <text>`. */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
