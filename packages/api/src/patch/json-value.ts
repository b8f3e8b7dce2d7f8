/**
 * Small helpers over parsed JSON shared by the three patch kinds. Request
 * bodies may nest up to 10,000 levels (kube-apiserver's limit), deeper than
 * the call stack allows recursion, so every walk here keeps its own stack.
 */

export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own property, `__proto__` included (a plain assignment would set the prototype). */
export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function emptyLike(v: object): unknown[] | JsonObject {
  return Array.isArray(v) ? new Array<unknown>(v.length) : {};
}

/** Deep copy of JSON data without recursion; patches never mutate their inputs. */
export function cloneJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  const root = emptyLike(v);
  const stack: Array<[object, unknown[] | JsonObject]> = [[v, root]];
  while (stack.length > 0) {
    const [src, dst] = stack.pop()!;
    if (Array.isArray(src)) {
      const out = dst as unknown[];
      for (let i = 0; i < src.length; i++) {
        const x: unknown = src[i];
        if (typeof x === 'object' && x !== null) {
          const c = emptyLike(x);
          out[i] = c;
          stack.push([x, c]);
        } else out[i] = x;
      }
      continue;
    }
    const out = dst as JsonObject;
    for (const k of Object.keys(src)) {
      const x = (src as JsonObject)[k];
      if (typeof x === 'object' && x !== null) {
        const c = emptyLike(x);
        setOwn(out, k, c);
        stack.push([x, c]);
      } else setOwn(out, k, x);
    }
  }
  return root as T;
}

/** JSON equality without recursion: object key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    if (!isObject(x) || !isObject(y)) return false;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const k of kx) {
      if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
      stack.push([x[k], y[k]]);
    }
  }
  return true;
}

/**
 * RFC 7386 merge of `patch` into `target` (mutated and returned when it is an
 * object), without recursion: objects merge, `null` deletes, anything else
 * replaces; values taken from the patch are copies with their nulls removed.
 */
export function mergeJson(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const root: JsonObject = isObject(target) ? target : {};
  const stack: Array<[JsonObject, JsonObject]> = [[root, patch]];
  while (stack.length > 0) {
    const [out, p] = stack.pop()!;
    for (const k of Object.keys(p)) {
      const v = p[k];
      if (v === null) {
        delete out[k];
      } else if (isObject(v)) {
        const cur = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
        const next: JsonObject = isObject(cur) ? cur : {};
        setOwn(out, k, next);
        stack.push([next, v]);
      } else setOwn(out, k, cloneJson(v));
    }
  }
  return root;
}

/** `spec.containers[0].image`-style path building. */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}
