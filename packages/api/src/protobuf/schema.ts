import { ProtobufError, readFields, WireReader, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, type WireField } from './wire.js';

/**
 * Message descriptions: field number → JSON name and type, the little that
 * generated.proto says and the wire does not. Decoding yields the JSON the
 * same object would have had on the JSON path: zero scalars and empty lists
 * are left out (Go's omitempty), a message that is present is an object even
 * when empty (Go never omits structs), a zero Time is left out (Go writes null).
 */
export type Scalar = 'string' | 'int32' | 'int64' | 'bool' | 'bytes';
/** Well-known Kubernetes types with their own JSON form. */
export type Special = 'time' | 'quantity' | 'intOrString';

export interface FieldDesc {
  name: string;
  type: Scalar | Special | MessageDesc;
  repeated?: boolean;
  /** map<string, V>: the wire has repeated {1: key, 2: value} entries. */
  map?: boolean;
  /** The Go field is a pointer (on the wire only when set) or has no omitempty: a zero value is still written. */
  keepZero?: boolean;
  /** A Go embedded struct: its fields are merged into the parent object, as encoding/json does. */
  inline?: boolean;
}

export interface MessageDesc {
  name: string;
  fields: Record<number, FieldDesc>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(path: string, message: string): never {
  throw new ProtobufError(`${path}: ${message}`);
}

function str(f: WireField, path: string): string {
  if (f.wire !== WIRE_BYTES) fail(path, `expected a length-delimited string, got wire type ${f.wire}`);
  try {
    return utf8.decode(f.value);
  } catch {
    return fail(path, 'is not valid UTF-8');
  }
}

function int(v: bigint, bits: 32 | 64, path: string): number {
  const n = BigInt.asIntN(bits, v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) fail(path, `integer ${n} is out of the safe range`);
  return Number(n);
}

/** Numbers of a field; a packed repeated field carries several in one length-delimited run. */
function numbers(f: WireField, bits: 32 | 64, path: string): number[] {
  if (f.wire === WIRE_VARINT || f.wire === WIRE_FIXED64) return [int(f.value, bits, path)];
  if (f.wire === WIRE_FIXED32) return [bits === 32 ? f.value | 0 : f.value];
  const out: number[] = [];
  const r = new WireReader(f.value);
  while (!r.done) out.push(int(r.varint(), bits, path));
  return out;
}

function timeJson(buf: Uint8Array, path: string): string | undefined {
  let seconds = 0;
  let nanos = 0;
  for (const f of readFields(buf)) {
    if (f.num === 1 && f.wire === WIRE_VARINT) seconds = int(f.value, 64, `${path}.seconds`);
    else if (f.num === 2 && f.wire === WIRE_VARINT) nanos = int(f.value, 32, `${path}.nanos`);
  }
  if (seconds === 0 && nanos === 0) return undefined;
  // The range Go's RFC3339 formatting accepts: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
  if (seconds < -62_135_596_800 || seconds > 253_402_300_799) fail(path, `time ${seconds}s is outside years 1..9999`);
  // metav1.Time is RFC3339 with whole seconds on the JSON path.
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function quantityJson(buf: Uint8Array, path: string): string {
  let s = '';
  for (const f of readFields(buf)) if (f.num === 1) s = str(f, `${path}.string`);
  return s;
}

function intOrStringJson(buf: Uint8Array, path: string): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  for (const f of readFields(buf)) {
    if (f.num === 1 && f.wire === WIRE_VARINT) type = int(f.value, 64, `${path}.type`);
    else if (f.num === 2 && f.wire === WIRE_VARINT) intVal = int(f.value, 32, `${path}.intVal`);
    else if (f.num === 3) strVal = str(f, `${path}.strVal`);
  }
  return type === 1 ? strVal : intVal;
}

/** One value of a (non-map) field, or undefined when it decodes to nothing (a zero Time). */
function value(f: WireField, d: FieldDesc, path: string, depth: number): unknown {
  const t = d.type;
  if (typeof t === 'object') {
    if (f.wire !== WIRE_BYTES) fail(path, `expected a message, got wire type ${f.wire}`);
    return decodeMessage(f.value, t, path, depth + 1);
  }
  switch (t) {
    case 'string':
      return str(f, path);
    case 'bytes':
      if (f.wire !== WIRE_BYTES) fail(path, `expected bytes, got wire type ${f.wire}`);
      return Buffer.from(f.value).toString('base64');
    case 'bool':
      if (f.wire !== WIRE_VARINT) fail(path, `expected a bool, got wire type ${f.wire}`);
      return f.value !== 0n;
    case 'int32':
    case 'int64':
      return numbers(f, t === 'int32' ? 32 : 64, path)[0];
    case 'time':
    case 'quantity':
    case 'intOrString': {
      if (f.wire !== WIRE_BYTES) fail(path, `expected a ${t} message, got wire type ${f.wire}`);
      return t === 'time' ? timeJson(f.value, path) : t === 'quantity' ? quantityJson(f.value, path) : intOrStringJson(f.value, path);
    }
  }
}

function isZero(v: unknown): boolean {
  return v === undefined || v === '' || v === 0 || v === false;
}

/** Messages nest as their descriptions do (a dozen levels for core kinds); this bounds a description that refers to itself. */
const MAX_MESSAGE_DEPTH = 100;

/** Decodes one message by its description; unknown field numbers are skipped. */
export function decodeMessage(buf: Uint8Array, desc: MessageDesc, path = desc.name, depth = 0): Record<string, unknown> {
  if (depth > MAX_MESSAGE_DEPTH) fail(path, `messages nest deeper than ${MAX_MESSAGE_DEPTH} levels`);
  const out: Record<string, unknown> = {};
  for (const f of readFields(buf)) {
    const d = desc.fields[f.num];
    if (!d) continue;
    const p = `${path}.${d.name}`;
    if (d.map) {
      if (f.wire !== WIRE_BYTES) fail(p, `expected a map entry, got wire type ${f.wire}`);
      let key = '';
      let val: unknown = d.type === 'string' ? '' : undefined;
      for (const e of readFields(f.value)) {
        if (e.num === 1) key = str(e, `${p} key`);
        else if (e.num === 2) val = value(e, d, `${p}[${key}]`, depth);
      }
      const m = (out[d.name] ??= {}) as Record<string, unknown>;
      m[key] = val ?? '';
    } else if (d.repeated) {
      const list = (out[d.name] ??= []) as unknown[];
      if ((d.type === 'int32' || d.type === 'int64') && f.wire === WIRE_BYTES) list.push(...numbers(f, d.type === 'int32' ? 32 : 64, p));
      else list.push(value(f, d, `${p}[${list.length}]`, depth));
    } else if (d.inline) {
      Object.assign(out, value(f, d, path, depth));
    } else {
      const v = value(f, d, p, depth);
      if (isZero(v) && !d.keepZero) delete out[d.name];
      else if (v !== undefined) out[d.name] = v;
    }
  }
  return out;
}
