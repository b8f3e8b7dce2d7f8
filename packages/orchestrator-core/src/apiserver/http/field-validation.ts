import type { ServerResponse } from 'node:http';
import { bodyKindOf, parseFieldValidation, schemaForKind, unknownFields, validateFields, warningHeader, type FieldValidation, type KubeObject, type ResourceInfo } from '@pilot/api';
import { badRequest, fromStatus } from '../status.js';

/**
 * Server-side field validation for create / update / patch
 * (`?fieldValidation=Strict|Warn|Ignore`). kubectl 1.32 sends Strict for
 * create, apply, replace and edit once the OpenAPI document advertises the
 * parameter, and skips its own check: an unknown field must be refused here
 * (Strict) or reported in a `Warning` header (Warn, the default), never
 * stored silently.
 */

export function fieldDirective(q: URLSearchParams): FieldValidation {
  try {
    return parseFieldValidation(q.get('fieldValidation'));
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

/**
 * Checks `obj` (a request body, or the result of applying a patch) against
 * the kind's schema. Throws the 400 under Strict, adds Warning headers under
 * Warn, and returns the object without its unknown fields.
 */
export function checkFields(res: Pick<ServerResponse, 'headersSent' | 'setHeader'>, r: ResourceInfo, subresource: string | undefined, obj: unknown, directive: FieldValidation): unknown {
  const ref = bodyRef(r, subresource);
  // A kind without a schema has nothing to check against.
  if (!hasSchema(ref)) return obj;
  const out = validateFields(ref, obj, directive);
  if (out.error) throw fromStatus(out.error);
  if (out.warnings.length > 0 && !res.headersSent) res.setHeader('warning', out.warnings.map(warningHeader));
  return out.object;
}

/**
 * For PATCH: judges the patched object only on the unknown fields the patch
 * brings in. What was stored before was accepted then; refusing it now would
 * make every later patch of that object fail.
 */
export function checkPatchedFields(
  res: Pick<ServerResponse, 'headersSent' | 'setHeader'>,
  r: ResourceInfo,
  subresource: string | undefined,
  next: KubeObject,
  current: KubeObject,
  directive: FieldValidation,
): KubeObject {
  const ref = bodyRef(r, subresource);
  if (!hasSchema(ref)) return next;
  const before = new Set(unknownFields(ref, current));
  if (unknownFields(ref, next).every((f) => before.has(f))) return next;
  return checkFields(res, r, subresource, next, directive) as KubeObject;
}

/** What a body of the resource or subresource holds (`replicationcontrollers/scale` is a Scale, `pods/status` a Pod). */
function bodyRef(r: ResourceInfo, subresource: string | undefined): ResourceInfo | string {
  return subresource ? `${r.resource}/${subresource}` : r;
}

function hasSchema(ref: ResourceInfo | string): boolean {
  const k = bodyKindOf(ref);
  return k !== undefined && schemaForKind(k.kind, k.apiVersion) !== undefined;
}
