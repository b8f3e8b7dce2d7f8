/**
 * One pass over raw JSON text, before it is parsed: how deeply it nests and
 * which object keys repeat. kube-apiserver's decoder (Go's encoding/json
 * scanner, as forked in sigs.k8s.io/json) refuses input nested more than
 * 10,000 levels (`invalid character '[' exceeded max depth`) and, under
 * `fieldValidation=Strict|Warn`, reports a repeated key as
 * `duplicate field "metadata.name"`; JSON.parse takes the last value silently.
 *
 * The scan is iterative (an explicit stack, never recursion), so no input can
 * overflow the call stack. It does not validate: on malformed text its answer
 * is meaningless and JSON.parse reports the syntax error afterwards.
 */

/** kube-apiserver's nesting limit (Go encoding/json's maxNestingDepth): 10,000 levels pass, 10,001 do not. */
export const MAX_JSON_DEPTH = 10_000;

export interface JsonScan {
  /** Set when the text nests deeper than the limit: the bracket that went one level too far. */
  tooDeep?: '{' | '[';
  /** Repeated keys as field paths (`spec.containers[0].name`), in document order, each once; only when asked for. */
  duplicates: string[];
}

export interface JsonScanOptions {
  maxDepth?: number;
  /** Look for repeated keys (costs a Set per object). */
  duplicates?: boolean;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** Keys seen in one object: a short list (most objects have a few keys), a Set past that. */
type SeenKeys = string[] | Set<string>;
const LIST_MAX = 8;

/** Records `key` in `seen`; false when it was there already. May return a grown container. */
function addKey(seen: SeenKeys, key: string): boolean {
  if (Array.isArray(seen)) {
    if (seen.includes(key)) return false;
    seen.push(key);
    return true;
  }
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

export function scanJson(text: string, opts: JsonScanOptions = {}): JsonScan {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const wantDuplicates = opts.duplicates === true;
  const out: JsonScan = { duplicates: [] };
  // Per open container, only kept for duplicate paths: its keys (undefined for
  // an array), its current key, its current index. Depth alone needs a counter.
  const seen: Array<SeenKeys | undefined> = [];
  const keys: string[] = [];
  const indexes: number[] = [];
  let depth = 0;
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++depth > maxDepth) {
          out.tooDeep = c === OPEN_BRACE ? '{' : '[';
          return out;
        }
        if (wantDuplicates) {
          seen.push(c === OPEN_BRACE ? [] : undefined);
          keys.push('');
          indexes.push(0);
        }
        expectKey = c === OPEN_BRACE;
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        depth--;
        if (wantDuplicates) {
          seen.pop();
          keys.pop();
          indexes.pop();
        }
        expectKey = false;
        break;
      case COMMA:
        if (wantDuplicates && depth > 0) {
          const top = depth - 1;
          if (seen[top] === undefined) indexes[top]!++;
          else expectKey = true;
        }
        break;
      case COLON:
        expectKey = false;
        break;
      case QUOTE: {
        const end = stringEnd(text, i);
        if (expectKey && wantDuplicates && depth > 0) {
          const top = depth - 1;
          const set = seen[top]!;
          const key = keyText(text, i, end);
          if (!addKey(set, key)) {
            const path = fieldPath(seen, keys, indexes, key);
            if (!out.duplicates.includes(path)) out.duplicates.push(path);
          } else if (Array.isArray(set) && set.length > LIST_MAX) seen[top] = new Set(set);
          keys[top] = key;
          expectKey = false;
        }
        i = end;
        break;
      }
      default:
      // Numbers, literals and whitespace carry no structure.
    }
  }
  return out;
}

/** Index of the quote that closes the string opening at `start` (or the end of the text). */
function stringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
  }
}

function keyText(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  if (raw.indexOf('\\') < 0) return raw;
  try {
    return JSON.parse(text.slice(start, end + 1)) as string;
  } catch {
    return raw;
  }
}

/** `spec.containers[0].name`: the keys and indexes of the open containers, then the repeated key. */
function fieldPath(seen: ReadonlyArray<SeenKeys | undefined>, keys: readonly string[], indexes: readonly number[], key: string): string {
  let path = '';
  // The innermost container is the object holding `key`; the others lead to it.
  for (let d = 0; d < seen.length - 1; d++) {
    if (seen[d] === undefined) path += `[${indexes[d]}]`;
    else path += path === '' ? keys[d] : `.${keys[d]}`;
  }
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Nesting depth of parsed JSON data (a scalar is 0, `{}` and `[]` are 1),
 * counted without recursion; stops and returns `limit + 1` once past `limit`.
 */
export function jsonDepth(value: unknown, limit = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'object' || value === null) return 0;
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > max) {
      max = d;
      if (max > limit) return limit + 1;
    }
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

/** The message Go's JSON scanner gives for input nested past the limit. */
export function tooDeepMessage(bracket: '{' | '['): string {
  return `invalid character '${bracket}' exceeded max depth`;
}

/**
 * The deepest object the apiserver goes on with once unknown fields are
 * dropped. JSON.stringify and structuredClone overflow V8's stack at a few
 * thousand levels, and no object of a served kind nests more than a few
 * dozen; deeper (a deep value where the kind has a typed field) is refused
 * as kube-apiserver refuses a value of the wrong type.
 */
export const MAX_OBJECT_DEPTH = 1000;

/** JSON text of a value for an error message: at most `max` characters, and never a stack overflow. */
export function previewJson(value: unknown, max = 256): string {
  if (jsonDepth(value, 64) > 64) return '<a value nested more than 64 levels>';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
