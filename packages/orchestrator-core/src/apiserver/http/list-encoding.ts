import { isUtf8 } from 'node:buffer';

/**
 * A list response built from the stored bytes. The slow way — parse each
 * stored object, add `metadata.resourceVersion` and `kind`/`apiVersion`,
 * stringify the whole list — costs most of a list's time at 10k objects.
 * But what the apiserver stores *is* `JSON.stringify` output (storage.ts's
 * `encode`), and for such bytes parse → set → stringify only appends
 * `"resourceVersion":"<rv>"` to the end of `metadata`. So the stored bytes
 * are copied with that splice, after one pass that proves the bytes are in
 * the form `JSON.stringify` writes (no whitespace, only the escapes it uses,
 * integers only, no numeric keys, which JavaScript objects reorder) and
 * carry the expected `apiVersion` and `kind`. Anything else (written by
 * hand, an older format) goes through the caller's slow encoding, so the
 * response bytes are the same either way.
 *
 * Not detected: duplicate keys (JSON.parse keeps the last value), which
 * `JSON.stringify` never writes.
 */

export interface RawItem {
  value: Buffer;
  rv: number;
}

/** Where `,"resourceVersion":"…"` goes in a stored object, or undefined when the slow path must run. */
export interface SplicePoint {
  /** Offset of the closing brace of `metadata`. */
  at: number;
  /** metadata is `{}`: no comma before the resourceVersion. */
  empty: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
/** Escapes JSON.stringify writes after a backslash: " \ b f n r t (never \/ or \u for printable text). */
const SHORT_ESCAPES = new Set([QUOTE, BACKSLASH, 0x62, 0x66, 0x6e, 0x72, 0x74]);
/** Integers with more digits may not survive a round trip through a double. */
const MAX_DIGITS = 15;
const MAX_DEPTH = 64;

const KEY_API_VERSION = Buffer.from('"apiVersion"');
const KEY_KIND = Buffer.from('"kind"');
const KEY_METADATA = Buffer.from('"metadata"');
const KEY_RESOURCE_VERSION = Buffer.from('"resourceVersion"');
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

/** A single-pass scanner over one stored object; every method returns false at the first non-canonical byte. */
class Scanner {
  p = 0;
  metaClose = -1;
  metaEmpty = false;
  sawApiVersion = false;
  sawKind = false;

  constructor(
    private readonly b: Buffer,
    private readonly apiVersion: Buffer,
    private readonly kind: Buffer,
  ) {}

  private same(start: number, end: number, lit: Buffer): boolean {
    if (end - start !== lit.length) return false;
    for (let i = 0; i < lit.length; i++) if (this.b[start + i] !== lit[i]) return false;
    return true;
  }

  string(): boolean {
    const b = this.b;
    let p = this.p + 1;
    for (;;) {
      const c = b[p];
      if (c === undefined || c < 0x20) return false;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        if (!SHORT_ESCAPES.has(b[p + 1]!)) return false;
        p += 2;
      } else p++;
    }
    this.p = p + 1;
    return true;
  }

  number(): boolean {
    const b = this.b;
    const start = this.p;
    let p = start;
    if (b[p] === MINUS) p++;
    const first = b[p];
    if (first === ZERO) {
      // "-0" parses to -0, which stringifies as "0".
      if (p !== start) return false;
      p++;
    } else if (first !== undefined && first > ZERO && first <= NINE) {
      p++;
      while (b[p]! >= ZERO && b[p]! <= NINE) p++;
    } else return false;
    if (p - start > MAX_DIGITS) return false;
    // A fraction or exponent (".", "e", "E") is left to the slow path by the caller's next check.
    this.p = p;
    return true;
  }

  value(depth: number): boolean {
    const c = this.b[this.p];
    if (c === QUOTE) return this.string();
    if (c === LBRACE) return this.object(depth + 1, false);
    if (c === LBRACKET) return this.array(depth + 1);
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return this.number();
    for (const lit of LITERALS) {
      if (this.same(this.p, this.p + lit.length, lit)) {
        this.p += lit.length;
        return true;
      }
    }
    return false;
  }

  array(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const b = this.b;
    this.p++;
    if (b[this.p] === RBRACKET) {
      this.p++;
      return true;
    }
    for (;;) {
      if (!this.value(depth)) return false;
      const c = b[this.p++];
      if (c === RBRACKET) return true;
      if (c !== COMMA) return false;
    }
  }

  /** `top`: the stored object itself, whose apiVersion, kind and metadata are checked. */
  object(depth: number, top: boolean, metadata = false): boolean {
    if (depth > MAX_DEPTH) return false;
    const b = this.b;
    this.p++;
    if (b[this.p] === RBRACE) {
      if (metadata) {
        this.metaClose = this.p;
        this.metaEmpty = true;
      }
      this.p++;
      return true;
    }
    for (;;) {
      if (b[this.p] !== QUOTE) return false;
      const keyStart = this.p;
      // Integer-like keys are reordered by JavaScript objects.
      const k0 = b[keyStart + 1]!;
      if (k0 >= ZERO && k0 <= NINE) return false;
      if (!this.string()) return false;
      const keyEnd = this.p;
      if (b[this.p++] !== COLON) return false;
      if (metadata && this.same(keyStart, keyEnd, KEY_RESOURCE_VERSION)) return false;
      if (top && this.same(keyStart, keyEnd, KEY_API_VERSION)) {
        if (!this.same(this.p, this.p + this.apiVersion.length, this.apiVersion)) return false;
        this.p += this.apiVersion.length;
        this.sawApiVersion = true;
      } else if (top && this.same(keyStart, keyEnd, KEY_KIND)) {
        if (!this.same(this.p, this.p + this.kind.length, this.kind)) return false;
        this.p += this.kind.length;
        this.sawKind = true;
      } else if (top && this.same(keyStart, keyEnd, KEY_METADATA)) {
        if (b[this.p] !== LBRACE || this.metaClose >= 0) return false;
        if (!this.object(depth + 1, false, true)) return false;
      } else if (!this.value(depth)) return false;
      const c = b[this.p];
      if (c === RBRACE) {
        if (metadata) this.metaClose = this.p;
        this.p++;
        return true;
      }
      if (c !== COMMA) return false;
      this.p++;
    }
  }
}

/**
 * Where the resourceVersion is spliced into `value`, when `value` is exactly
 * what JSON.stringify would write for it with the given apiVersion and kind
 * (both present) and a metadata object without a resourceVersion.
 */
export function splicePoint(value: Buffer, apiVersion: string, kind: string): SplicePoint | undefined {
  return spliceWith(value, Buffer.from(JSON.stringify(apiVersion)), Buffer.from(JSON.stringify(kind)));
}

/**
 * The bytes of `JSON.stringify({ apiVersion, kind, metadata, items })` with
 * each item taken from its stored bytes (resourceVersion spliced in) or,
 * when those are not in canonical form, from `slow(item)` (the parse →
 * stringify of one item).
 */
export function encodeList<T extends RawItem>(
  head: { apiVersion: string; kind: string; metadata: Record<string, string> },
  itemType: { apiVersion: string; kind: string },
  items: readonly T[],
  slow: (item: T) => string,
): Buffer {
  const prefix = JSON.stringify({ apiVersion: head.apiVersion, kind: head.kind, metadata: head.metadata, items: [] });
  // '...,"items":[]}' → the part up to and including '['.
  const open = Buffer.from(prefix.slice(0, -2));
  const close = Buffer.from(']}');
  const api = Buffer.from(JSON.stringify(itemType.apiVersion));
  const kind = Buffer.from(JSON.stringify(itemType.kind));
  const parts: { value: Buffer; at: number; rv: Buffer }[] = [];
  let size = open.length + close.length + Math.max(0, items.length - 1);
  for (const item of items) {
    const point = spliceWith(item.value, api, kind);
    if (point) {
      const rv = Buffer.from(`${point.empty ? '' : ','}"resourceVersion":${JSON.stringify(String(item.rv))}`);
      parts.push({ value: item.value, at: point.at, rv });
      size += item.value.length + rv.length;
    } else {
      const value = Buffer.from(slow(item));
      parts.push({ value, at: -1, rv: EMPTY });
      size += value.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let o = open.copy(out, 0);
  parts.forEach((part, i) => {
    if (i > 0) out[o++] = COMMA;
    if (part.at < 0) {
      o += part.value.copy(out, o);
      return;
    }
    o += part.value.copy(out, o, 0, part.at);
    o += part.rv.copy(out, o);
    o += part.value.copy(out, o, part.at);
  });
  o += close.copy(out, o);
  return out;
}

const EMPTY = Buffer.alloc(0);

/** splicePoint with the quoted apiVersion / kind already encoded (once per list). */
function spliceWith(value: Buffer, api: Buffer, kind: Buffer): SplicePoint | undefined {
  if (value[0] !== LBRACE) return undefined;
  const s = new Scanner(value, api, kind);
  if (!s.object(1, true) || s.p !== value.length) return undefined;
  if (!s.sawApiVersion || !s.sawKind || s.metaClose < 0) return undefined;
  // Invalid UTF-8 would come out of the slow path as U+FFFD.
  if (!isUtf8(value)) return undefined;
  return { at: s.metaClose, empty: s.metaEmpty };
}
