/**
 * RFC 6902 JSON Patch (`application/json-patch+json`, `kubectl patch
 * --type=json`) with RFC 6901 JSON pointers. The operations run on a copy, so
 * a failing operation leaves nothing half-applied; the error names the
 * operation's index, verb and path.
 */
import { PatchError } from './errors.js';
import { previewJson } from '../json-scan.js';
import { cloneJson, isObject, jsonEqual, setOwn } from './json-value.js';

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Splits a JSON pointer into unescaped tokens (`/a~1b/~0c` → `['a/b', '~c']`). */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer "${pointer}" must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`JSON pointer "${pointer}" has an invalid escape in "${t}"`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** Escapes one key for use in a JSON pointer. */
export function escapeJsonPointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Applies a JSON patch (an array of operations) to a copy of `doc`. */
export function applyJsonPatch<T = unknown>(doc: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw new PatchError('json patch must be a JSON array of operations');
  let root: unknown = cloneJson(doc);
  ops.forEach((raw, index) => {
    const op = checkOp(raw, index);
    try {
      root = applyOne(root, op);
    } catch (err) {
      if (err instanceof OpFailure) {
        throw new PatchError(`json patch operation ${index} (${op.op} ${op.path}): ${err.message}`, 422, op.path);
      }
      throw err;
    }
  });
  return root as T;
}

class OpFailure extends Error {}

function checkOp(raw: unknown, index: number): JsonPatchOp {
  const bad = (what: string): PatchError => new PatchError(`json patch operation ${index}: ${what}`, 400);
  if (!isObject(raw)) throw bad('must be an object');
  const { op, path } = raw;
  if (typeof op !== 'string' || !OPS.has(op)) throw bad(`unknown op ${previewJson(op)} (want add, remove, replace, move, copy or test)`);
  if (typeof path !== 'string') throw bad(`"${op}" needs a string "path"`);
  try {
    parseJsonPointer(path);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in raw)) throw bad(`"${op} ${path}" needs a "value"`);
  if (op === 'move' || op === 'copy') {
    if (typeof raw.from !== 'string') throw bad(`"${op} ${path}" needs a string "from"`);
    try {
      parseJsonPointer(raw.from);
    } catch (err) {
      throw bad((err as Error).message);
    }
    return { op, from: raw.from, path };
  }
  if (op === 'remove') return { op, path };
  return { op: op as 'add' | 'replace' | 'test', path, value: raw.value };
}

function applyOne(root: unknown, op: JsonPatchOp): unknown {
  switch (op.op) {
    case 'add':
      return add(root, parseJsonPointer(op.path), cloneJson(op.value));
    case 'remove':
      return remove(root, parseJsonPointer(op.path)).root;
    case 'replace': {
      const tokens = parseJsonPointer(op.path);
      get(root, tokens); // must exist
      if (tokens.length === 0) return cloneJson(op.value);
      const { container, key } = parent(root, tokens);
      if (Array.isArray(container)) container[arrayIndex(container, key, false)] = cloneJson(op.value);
      else setOwn(container as Record<string, unknown>, key, cloneJson(op.value));
      return root;
    }
    case 'move': {
      if (op.path === op.from) {
        get(root, parseJsonPointer(op.from));
        return root;
      }
      if (op.path.startsWith(`${op.from}/`)) throw new OpFailure(`cannot move "${op.from}" into one of its own children`);
      const { root: after, value } = remove(root, parseJsonPointer(op.from));
      return add(after, parseJsonPointer(op.path), value);
    }
    case 'copy':
      return add(root, parseJsonPointer(op.path), cloneJson(get(root, parseJsonPointer(op.from))));
    case 'test': {
      const actual = get(root, parseJsonPointer(op.path));
      if (!jsonEqual(actual, op.value)) {
        throw new OpFailure(`test failed: value is ${previewJson(actual)}, expected ${previewJson(op.value)}`);
      }
      return root;
    }
  }
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OpFailure(`"${token}" is not an array index`);
  const i = Number(token);
  const max = forAdd ? arr.length : arr.length - 1;
  if (i > max) throw new OpFailure(`index ${i} is out of range (array length ${arr.length})`);
  return i;
}

function get(root: unknown, tokens: string[]): unknown {
  let cur = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new OpFailure('path not found');
  }
  return cur;
}

function parent(root: unknown, tokens: string[]): { container: unknown[] | Record<string, unknown>; key: string } {
  const container = get(root, tokens.slice(0, -1));
  const key = tokens[tokens.length - 1] as string;
  if (Array.isArray(container) || isObject(container)) return { container, key };
  throw new OpFailure('parent is not an object or array');
}

function add(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const { container, key } = parent(root, tokens);
  if (Array.isArray(container)) container.splice(arrayIndex(container, key, true), 0, value);
  else setOwn(container, key, value);
  return root;
}

function remove(root: unknown, tokens: string[]): { root: unknown; value: unknown } {
  if (tokens.length === 0) throw new OpFailure('cannot remove the whole document');
  const value = get(root, tokens);
  const { container, key } = parent(root, tokens);
  if (Array.isArray(container)) container.splice(arrayIndex(container, key, false), 1);
  else delete container[key];
  return { root, value };
}
