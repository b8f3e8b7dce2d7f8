/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), the
 * patch `kubectl apply`, `edit` and `patch` send for built-in kinds. It is a
 * JSON merge patch that knows, from the schema table (openapi/definitions.ts),
 * which lists merge element by element and by which key, so changing one
 * container's image keeps its command, env and resources.
 *
 * Semantics follow apimachinery's pkg/util/strategicpatch as the apiserver
 * applies a patch (MergeParallelList + IgnoreUnmatchedNulls):
 * - maps merge, `null` deletes a field;
 * - lists with patchStrategy merge: objects are matched by their merge key and
 *   merged, new ones added; primitive lists are merged as sets;
 *   other lists are replaced whole;
 * - `$patch: replace | delete | merge` on a map or as a list element,
 * - `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`, `$retainKeys`;
 * - directive keys never reach the result.
 *
 * A field the kind does not have is merged as a JSON merge patch, without
 * recursion (field validation drops or refuses it afterwards), so a deep
 * unknown field is safe; within known (and free-form) fields merging recurses
 * and stops with 422 past MAX_MERGE_DEPTH levels, which no object of a served
 * kind reaches (a list level costs the call stack seven frames).
 */
import { childSchema, asArraySchema, schemaForKind } from '../openapi/navigate.js';
import { strategyParts, type ArraySchema, type FieldSchema } from '../openapi/schema.js';
import { PatchError } from './errors.js';
import { previewJson } from '../json-scan.js';
import { childPath, cloneJson, isObject, jsonEqual, mergeJson, setOwn, type JsonObject } from './json-value.js';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

/**
 * Applies `patch` to a copy of `doc`, an object of `kind` (`Pod`, `Service`,
 * …; `apiVersion` disambiguates if ever needed).
 */
export function applyStrategicMergePatch<T = unknown>(doc: T, patch: unknown, kind: string, apiVersion?: string): T {
  const schema = schemaForKind(kind, apiVersion);
  if (!schema) throw new PatchError(`strategic merge patch is not supported for kind "${kind}"`, 415);
  return applyStrategicMergePatchWithSchema(doc, patch, schema);
}

/** The same with an explicit schema (tests, or kinds described elsewhere). */
export function applyStrategicMergePatchWithSchema<T = unknown>(doc: T, patch: unknown, schema: FieldSchema | undefined): T {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object');
  const original = isObject(doc) ? cloneJson(doc) : {};
  depth = 0;
  return mergeMap(original, cloneJson(patch), schema, '') as T;
}

/** How deep a strategic merge goes into known fields. */
export const MAX_MERGE_DEPTH = 500;

/** How many maps and lists deep the merge is (one synchronous merge at a time). */
let depth = 0;

function descend<T>(path: string, fn: () => T): T {
  if (++depth > MAX_MERGE_DEPTH) {
    depth = 0;
    throw new PatchError(`strategic merge patch: the patch nests deeper than ${MAX_MERGE_DEPTH} levels`, 422, path);
  }
  try {
    return fn();
  } finally {
    depth--;
  }
}

function fail(path: string, message: string): never {
  throw new PatchError(`strategic merge patch: ${path === '' ? '<root>' : path}: ${message}`, 400, path);
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: FieldSchema | undefined, path: string): JsonObject {
  return descend(path, () => mergeMapAt(original, patch, schema, path));
}

function mergeMapAt(original: JsonObject, patch: JsonObject, schema: FieldSchema | undefined, path: string): JsonObject {
  if (PATCH in patch) {
    const directive = patch[PATCH];
    if (directive === 'replace') {
      delete patch[PATCH];
      return mergeMap({}, patch, schema, path);
    }
    if (directive === 'delete') return {};
    if (directive !== 'merge') fail(path, `unknown $patch directive ${previewJson(directive)}`);
    delete patch[PATCH];
  }

  applyRetainKeys(original, patch, path);

  // Lists with an order directive are merged first, then put in that order.
  const done = new Set<string>();
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (mergeOrderedList(original, patch, field, patch[key], childSchema(schema, field), childPath(path, field))) done.add(field);
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_PRIMITIVES)) {
      const field = key.slice(DELETE_PRIMITIVES.length);
      if (!Array.isArray(value)) fail(childPath(path, key), 'must be a list');
      const current = original[field];
      if (Array.isArray(current)) original[field] = current.filter((v) => !value.some((d) => jsonEqual(d, v)));
      continue;
    }
    if (key.startsWith('$') || done.has(key)) continue;
    const here = childPath(path, key);
    if (value === null) {
      delete original[key];
      continue;
    }
    const sub = childSchema(schema, key);
    // Own properties only: `__proto__` in a patch is data, never Object.prototype.
    const current = Object.prototype.hasOwnProperty.call(original, key) ? original[key] : undefined;
    if (schema !== undefined && sub === undefined) {
      // A field the kind does not have: no strategy to follow.
      setOwn(original, key, mergeJson(current, value));
    } else if (isObject(value)) {
      setOwn(original, key, mergeMap(isObject(current) ? current : {}, value, sub, here));
    } else if (Array.isArray(value)) {
      setOwn(original, key, mergeList(Array.isArray(current) ? current : [], value, asArraySchema(sub), here));
    } else {
      setOwn(original, key, value);
    }
  }
  return original;
}

/** `$retainKeys`: drop every field of the original not listed (volume sources). */
function applyRetainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) fail(path, '$retainKeys must be a list of field names');
  const keepSet = new Set(keep as string[]);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith('$')) continue;
    if (!keepSet.has(k)) fail(path, `field "${k}" is in the patch but not in $retainKeys`);
  }
  for (const k of Object.keys(original)) if (!keepSet.has(k)) delete original[k];
}

/** A new value taken from the patch: directives and nulls are processed against nothing. */
function fresh(value: unknown, schema: FieldSchema | undefined, path: string): unknown {
  if (isObject(value)) return mergeMap({}, value, schema, path);
  if (Array.isArray(value)) return mergeList([], value, asArraySchema(schema), path);
  return value;
}

function mergeList(original: unknown[], patch: unknown[], schema: ArraySchema | undefined, path: string): unknown[] {
  return descend(path, () => mergeListAt(original, patch, schema, path));
}

function mergeListAt(original: unknown[], patch: unknown[], schema: ArraySchema | undefined, path: string): unknown[] {
  const items = schema?.items;
  if (!strategyParts(schema?.patchStrategy).merge) {
    return patch.map((v, i) => fresh(v, items, childPath(path, i)));
  }
  const mergeKey = schema?.mergeKey;
  const maps = patch.some(isObject) || (patch.length === 0 && original.some(isObject));
  if (!maps) {
    // A set of primitives (finalizers): union, patch values ordered as in the patch.
    const merged: unknown[] = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
    const [fromPatch, serverOnly] = partition(merged, patch, undefined);
    return normalizeOrder(fromPatch, serverOnly, patch, original, undefined);
  }
  if (!mergeKey) fail(path, 'cannot merge a list of objects without a merge key');

  let base = original.slice();
  const plain: JsonObject[] = [];
  let replace = false;
  patch.forEach((el, i) => {
    if (!isObject(el)) fail(childPath(path, i), 'list mixes objects and other values');
    if (!(PATCH in el)) {
      plain.push(el);
      return;
    }
    const directive = el[PATCH];
    if (directive === 'delete') {
      if (!(mergeKey in el)) fail(childPath(path, i), `$patch: delete element does not contain the merge key "${mergeKey}"`);
      base = base.filter((o) => !(isObject(o) && jsonEqual(o[mergeKey], el[mergeKey])));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      fail(childPath(path, i), 'merging lists cannot yet be specified in the patch');
    } else {
      fail(childPath(path, i), `unknown $patch directive ${previewJson(directive)}`);
    }
  });
  if (replace) return plain.map((el, i) => fresh(el, items, childPath(path, i)));

  for (const el of plain) {
    if (!(mergeKey in el)) fail(path, `element ${previewJson(el)} does not contain the merge key "${mergeKey}"`);
    const at = base.findIndex((o) => isObject(o) && jsonEqual(o[mergeKey], el[mergeKey]));
    const here = `${path}[${mergeKey}=${previewJson(el[mergeKey])}]`;
    if (at >= 0) base[at] = mergeMap(base[at] as JsonObject, el, items, here);
    else base.push(fresh(el, items, here));
  }
  const [fromPatch, serverOnly] = partition(base, plain, mergeKey);
  return normalizeOrder(fromPatch, serverOnly, plain, original, mergeKey);
}

/**
 * `$setElementOrder/<field>`: merge the list (if patched) and order it as
 * listed. Returns false when it left the field to the plain merge (the
 * patch deletes the list, or the live value is not a list).
 */
function mergeOrderedList(
  original: JsonObject,
  patch: JsonObject,
  field: string,
  order: unknown,
  schema: FieldSchema | undefined,
  path: string,
): boolean {
  if (!Array.isArray(order)) fail(path, `$setElementOrder/${field} must be a list`);
  const list = asArraySchema(schema);
  const mergeKey = list?.mergeKey;
  const current = original[field];
  const patched = patch[field];
  if (patched === null) return false;
  if (current !== undefined && !Array.isArray(current)) return false;
  if (patched !== undefined && !Array.isArray(patched)) fail(path, 'is not a list');
  if (Array.isArray(patched)) checkOrderCoversPatch(patched, order, mergeKey, path);

  let merged: unknown[];
  if (current && Array.isArray(patched)) merged = mergeList(current, patched, list, path);
  else if (Array.isArray(patched)) merged = mergeList([], patched, list, path);
  else if (current) merged = current;
  else return true;

  const [fromOrder, serverOnly] = partition(merged, order, mergeKey);
  original[field] = normalizeOrder(fromOrder, serverOnly, order, current ?? [], mergeKey);
  return true;
}

/** The patch's elements must appear in $setElementOrder in the same relative order. */
function checkOrderCoversPatch(patched: unknown[], order: unknown[], mergeKey: string | undefined, path: string): void {
  const items = patched.filter((p) => !(isObject(p) && PATCH in p));
  let p = 0;
  for (let o = 0; p < items.length && o < order.length; o++) {
    if (sameElement(items[p], order[o], mergeKey)) p++;
  }
  if (p < items.length) fail(path, `the order in the patch list does not match $setElementOrder/${path.split('.').pop() ?? ''}`);
}

function keyOf(v: unknown, mergeKey: string | undefined): unknown {
  return mergeKey !== undefined && isObject(v) ? v[mergeKey] : v;
}

function sameElement(a: unknown, b: unknown, mergeKey: string | undefined): boolean {
  return jsonEqual(keyOf(a, mergeKey), keyOf(b, mergeKey));
}

function indexIn(list: readonly unknown[], v: unknown, mergeKey: string | undefined): number {
  return list.findIndex((x) => sameElement(x, v, mergeKey));
}

/** Splits `merged` into elements named by `wanted` and the server-only rest. */
function partition(merged: unknown[], wanted: readonly unknown[], mergeKey: string | undefined): [unknown[], unknown[]] {
  const hit: unknown[] = [];
  const rest: unknown[] = [];
  for (const m of merged) (indexIn(wanted, m, mergeKey) >= 0 ? hit : rest).push(m);
  return [hit, rest];
}

function sortBy(list: unknown[], order: readonly unknown[], mergeKey: string | undefined): unknown[] {
  return list
    .map((v, i) => ({ v, i, at: indexIn(order, v, mergeKey) }))
    .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i))
    .map((x) => x.v);
}

/**
 * Orders patch elements as `patchOrder` wants, server-only elements as they
 * were, then interleaves them: a server-only element goes before a patch
 * element only when the live list had it before that element (apimachinery
 * normalizeElementOrder / mergeSortedSlice). New elements without an order
 * directive therefore come first, as upstream does.
 */
function normalizeOrder(
  fromPatch: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const right = sortBy(fromPatch, patchOrder, mergeKey);
  const left = sortBy(serverOnly, serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
