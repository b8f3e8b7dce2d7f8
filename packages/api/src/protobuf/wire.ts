/**
 * The protobuf wire format, just enough to read what Kubernetes clients send:
 * varints, 64-bit, length-delimited and 32-bit fields. Groups (wire types 3
 * and 4) were never used by Kubernetes and are refused. Nothing here knows
 * about field meanings; that is the schema's job (schema.ts).
 */

export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** One field occurrence as it appears on the wire, in order. */
export type WireField =
  | { num: number; wire: typeof WIRE_VARINT; value: bigint }
  | { num: number; wire: typeof WIRE_FIXED64; value: bigint }
  | { num: number; wire: typeof WIRE_BYTES; value: Uint8Array }
  | { num: number; wire: typeof WIRE_FIXED32; value: number };

/** A cursor over one message's bytes. */
export class WireReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned varint of up to 64 bits (10 bytes). */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtobufError(`truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtobufError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  private take(n: number, what: string): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length) throw new ProtobufError(`truncated ${what} at byte ${this.pos}: needs ${n} bytes, ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field, or undefined at the end of the message. */
  next(): WireField | undefined {
    if (this.done) return undefined;
    const at = this.pos;
    const key = this.varint();
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (num === 0) throw new ProtobufError(`field number 0 at byte ${at}`);
    switch (wire) {
      case WIRE_VARINT:
        return { num, wire, value: this.varint() };
      case WIRE_FIXED64: {
        const b = this.take(8, 'fixed64');
        return { num, wire, value: new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) };
      }
      case WIRE_BYTES: {
        const len = this.varint();
        const left = this.buf.length - this.pos;
        if (len > BigInt(left)) throw new ProtobufError(`truncated field ${num} at byte ${at}: it claims ${len} bytes, ${left} left`);
        return { num, wire, value: this.take(Number(len), `field ${num}`) };
      }
      case WIRE_FIXED32: {
        const b = this.take(4, 'fixed32');
        return { num, wire, value: new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) };
      }
      default:
        throw new ProtobufError(`unsupported wire type ${wire} for field ${num} at byte ${at}`);
    }
  }
}

/** Every field of one message, in wire order. */
export function readFields(buf: Uint8Array): WireField[] {
  const r = new WireReader(buf);
  const out: WireField[] = [];
  for (let f = r.next(); f; f = r.next()) out.push(f);
  return out;
}
