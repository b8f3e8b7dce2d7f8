import type { ServerResponse } from 'node:http';
import {
  bodyKindOf,
  cannotBeHandled,
  jsonDepth,
  MAX_OBJECT_DEPTH,
  parseFieldValidation,
  previewJson,
  schemaForKind,
  unknownFields,
  validateFields,
  warningHeader,
  type FieldValidation,
  type KubeObject,
  type ResourceInfo,
} from '@pilot/api';
import { badRequest, fromStatus, invalid } from '../status.js';
import type { PatchType } from '../registry/patch.js';

/**
 * Server-side field validation for create / update / patch
 * (`?fieldValidation=Strict|Warn|Ignore`). kubectl 1.32 sends Strict for
 * create, apply, replace and edit once the OpenAPI document advertises the
 * parameter, and skips its own check: an unknown field or a repeated key must
 * be refused here (Strict) or reported in a `Warning` header (Warn, the
 * default), never stored silently.
 *
 * It is also where a body's depth is held to what the rest of the server can
 * walk: once unknown fields are dropped (a 10,000-level unknown field is
 * accepted and dropped, as upstream), an object still nested deeper than
 * MAX_OBJECT_DEPTH has a deep value where its kind has a typed field, which
 * kube-apiserver's typed decoder refuses too.
 */

type Reply = Pick<ServerResponse, 'headersSent' | 'setHeader'> & Partial<Pick<ServerResponse, 'getHeader'>>;

export function fieldDirective(q: URLSearchParams): FieldValidation {
  try {
    return parseFieldValidation(q.get('fieldValidation'));
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

/** Whether repeated keys matter (kube-apiserver's strict decoder runs under Strict and Warn). */
export function wantsDuplicates(directive: FieldValidation): boolean {
  return directive !== 'Ignore';
}

/** Adds `Warning` headers, keeping the ones already set. */
export function addWarnings(res: Reply, texts: readonly string[]): void {
  if (texts.length === 0 || res.headersSent) return;
  const had = res.getHeader?.('warning');
  const before = had === undefined ? [] : Array.isArray(had) ? had.map(String) : [String(had)];
  res.setHeader('warning', [...before, ...texts.map(warningHeader)]);
}

/**
 * Checks `obj` (a request body, or the result of applying a patch) against
 * the kind's schema. Throws the 400 under Strict, adds Warning headers under
 * Warn, and returns the object without its unknown fields. `duplicates` are
 * the body's repeated keys (decodeRequestBody).
 */
export function checkFields(res: Reply, r: ResourceInfo, subresource: string | undefined, obj: unknown, directive: FieldValidation, duplicates: readonly string[] = []): unknown {
  const ref = bodyRef(r, subresource);
  // A kind without a schema has nothing to check against.
  if (!hasSchema(ref)) return checkDepth(ref, obj, 'body');
  const out = validateFields(ref, obj, directive, duplicates);
  if (out.error) throw fromStatus(out.error);
  addWarnings(res, out.warnings);
  return checkDepth(ref, out.object, 'body');
}

/**
 * For PATCH: judges the patched object only on the unknown fields the patch
 * brings in. What was stored before was accepted then; refusing it now would
 * make every later patch of that object fail.
 */
export function checkPatchedFields(res: Reply, r: ResourceInfo, subresource: string | undefined, next: KubeObject, current: KubeObject, directive: FieldValidation): KubeObject {
  const ref = bodyRef(r, subresource);
  if (!hasSchema(ref)) return checkDepth(ref, next, 'patch') as KubeObject;
  const before = new Set(unknownFields(ref, current));
  if (unknownFields(ref, next).every((f) => before.has(f))) return checkDepth(ref, next, 'patch') as KubeObject;
  return checkFields(res, r, subresource, next, directive) as KubeObject;
}

/**
 * Repeated keys in a patch body: kube-apiserver's strict decoding of the
 * patch reports them as warnings (Warn) or answers 422 Invalid on the field
 * `patch` (Strict); JSON patch's carry a `json patch ` prefix.
 */
export function checkPatchDuplicates(res: Reply, type: PatchType, patch: unknown, duplicates: readonly string[], directive: FieldValidation): void {
  if (duplicates.length === 0 || directive === 'Ignore') return;
  const messages = duplicates.map((p) => `${type === 'json-patch' ? 'json patch ' : ''}duplicate field "${p}"`);
  if (directive === 'Warn') {
    addWarnings(res, messages);
    return;
  }
  throw invalid('', '', [{ type: 'FieldValueInvalid', field: 'patch', message: `Invalid value: ${JSON.stringify(previewJson(patch))}: strict decoding error: ${messages.join(', ')}` }]);
}

/**
 * An object still deeper than MAX_OBJECT_DEPTH once its unknown fields are
 * gone: a body is 400 as the typed decoder's refusal, a patched object 422
 * Invalid on `patch` (as kube-apiserver answers a patch result it cannot decode).
 */
function checkDepth(ref: ResourceInfo | string, obj: unknown, what: 'body' | 'patch'): unknown {
  if (jsonDepth(obj, MAX_OBJECT_DEPTH) <= MAX_OBJECT_DEPTH) return obj;
  const why = `the object nests deeper than ${MAX_OBJECT_DEPTH} levels where ${bodyKindOf(ref)?.kind ?? 'the kind'} has typed fields`;
  if (what === 'body') throw badRequest(cannotBeHandled(ref, why));
  throw invalid('', '', [{ type: 'FieldValueInvalid', field: 'patch', message: `Invalid value: "<the patched object>": ${why}` }]);
}

/** What a body of the resource or subresource holds (`replicationcontrollers/scale` is a Scale, `pods/status` a Pod). */
function bodyRef(r: ResourceInfo, subresource: string | undefined): ResourceInfo | string {
  return subresource ? `${r.resource}/${subresource}` : r;
}

function hasSchema(ref: ResourceInfo | string): boolean {
  const k = bodyKindOf(ref);
  return k !== undefined && schemaForKind(k.kind, k.apiVersion) !== undefined;
}
