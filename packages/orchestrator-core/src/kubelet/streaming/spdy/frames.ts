/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 flow-control
 * changes), as the Kubernetes clients speak it through moby/spdystream: the
 * frames as plain data, a decoder that turns bytes into frames and an encoder
 * that turns frames into bytes. No sockets here; `connection.ts` drives them.
 *
 * Why not a library: the npm SPDY stack (spdy-transport) carries HTTP over
 * SPDY and rejects every SYN_STREAM without `:method`/`:path`, while
 * Kubernetes opens raw streams whose only headers are its own (`streamtype`,
 * `port`, `requestid`). The framing is small; zlib is pako's.
 *
 * Header blocks are compressed with one zlib stream per direction for the
 * whole connection, primed with the SPDY/3 dictionary and flushed
 * (Z_SYNC_FLUSH) at the end of each block, so encoder and decoder each keep
 * their zlib state from frame to frame.
 */
import { Deflate, Inflate, Z_SYNC_FLUSH } from 'pako';
import { SPDY3_HEADER_DICTIONARY } from './dictionary.js';

export const SPDY_VERSION = 3;
/** The 24-bit length field's limit. */
export const MAX_FRAME_LENGTH = 0xffffff;
/** SPDY/3.1's initial window, per stream and for the session. */
export const DEFAULT_INITIAL_WINDOW = 64 * 1024;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (as Go's spdy package numbers them). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids used here. */
export const SettingsId = { MAX_CONCURRENT_STREAMS: 4, INITIAL_WINDOW_SIZE: 7 } as const;

/** Header names (lower case) to their values; a name may carry several. */
export type SpdyHeaders = Record<string, string[]>;

export type SpdyFrame =
  | { type: 'DATA'; streamId: number; fin: boolean; data: Buffer }
  | { type: 'SYN_STREAM'; streamId: number; associatedStreamId: number; priority: number; fin: boolean; unidirectional: boolean; headers: SpdyHeaders }
  | { type: 'SYN_REPLY'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'RST_STREAM'; streamId: number; status: number }
  | { type: 'SETTINGS'; clear: boolean; settings: { id: number; flags: number; value: number }[] }
  | { type: 'PING'; id: number }
  | { type: 'GOAWAY'; lastGoodStreamId: number; status: number }
  | { type: 'HEADERS'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'WINDOW_UPDATE'; streamId: number; delta: number };

/**
 * A violation that ends the session (GOAWAY PROTOCOL_ERROR): the byte stream
 * can no longer be trusted, e.g. a header block that does not inflate.
 */
export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(`spdy: ${message}`);
    this.name = 'SpdyProtocolError';
  }
}

/** The first value of a header, or undefined. */
export function headerValue(h: SpdyHeaders, name: string): string | undefined {
  return h[name.toLowerCase()]?.[0];
}

// ---------------------------------------------------------------- header blocks

/** The uncompressed name/value block: count, then length-prefixed names and NUL-joined values. */
export function encodeHeaderBlock(h: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const names = Object.keys(h);
  parts.push(u32(names.length));
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from((h[name] ?? []).join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const fail = (why: string): never => {
    throw new SpdyProtocolError(`malformed header block: ${why}`);
  };
  let off = 0;
  const u32 = () => {
    if (off + 4 > block.length) fail('truncated');
    const n = block.readUInt32BE(off);
    off += 4;
    return n;
  };
  const bytes = (n: number) => {
    if (off + n > block.length) fail('truncated');
    const s = block.subarray(off, off + n).toString('utf8');
    off += n;
    return s;
  };
  const count = u32();
  const out: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = bytes(u32());
    if (name === '') fail('empty header name');
    if (name !== name.toLowerCase()) fail(`header name "${name}" is not lower case`);
    if (Object.hasOwn(out, name)) fail(`duplicate header "${name}"`);
    out[name] = bytes(u32()).split('\0');
  }
  if (off !== block.length) fail(`${block.length - off} bytes after the last header`);
  return out;
}

/** One direction's header compressor: a single zlib stream for the connection. */
export class HeaderCompressor {
  private readonly deflate = new Deflate({ level: 9, dictionary: SPDY3_HEADER_DICTIONARY });
  private out: Uint8Array[] = [];
  constructor() {
    this.deflate.onData = (chunk) => this.out.push(chunk);
  }

  compress(h: SpdyHeaders): Buffer {
    this.out = [];
    if (!this.deflate.push(encodeHeaderBlock(h), Z_SYNC_FLUSH)) throw new Error(`spdy: header compression failed: ${this.deflate.msg}`);
    return Buffer.concat(this.out);
  }
}

/** One direction's header decompressor, the peer compressor's counterpart. */
export class HeaderDecompressor {
  private readonly inflate = new Inflate({ dictionary: SPDY3_HEADER_DICTIONARY });
  private out: Uint8Array[] = [];
  constructor() {
    this.inflate.onData = (chunk) => this.out.push(chunk);
  }

  decompress(compressed: Buffer): SpdyHeaders {
    this.out = [];
    if (compressed.length === 0) throw new SpdyProtocolError('empty compressed header block');
    if (!this.inflate.push(compressed, Z_SYNC_FLUSH) || this.inflate.ended) throw new SpdyProtocolError(`header block does not inflate: ${this.inflate.msg || 'zlib stream ended'}`);
    return decodeHeaderBlock(Buffer.concat(this.out));
  }
}

// ---------------------------------------------------------------- decoding

/**
 * Bytes in, frames out. `push` may be given any slice of the byte stream;
 * frames split across pushes are kept until complete. Unknown control frame
 * types are skipped, as the draft requires; anything else malformed throws a
 * SpdyProtocolError.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private readonly headers = new HeaderDecompressor();

  constructor(private readonly maxFrameLength = MAX_FRAME_LENGTH) {}

  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      if (length > this.maxFrameLength) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameLength}`);
      if (this.buf.length < 8 + length) break;
      const head = this.buf.subarray(0, 8);
      const body = this.buf.subarray(8, 8 + length);
      this.buf = this.buf.subarray(8 + length);
      const frame = this.decode(head, body);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }

  private decode(head: Buffer, body: Buffer): SpdyFrame | undefined {
    const word0 = head.readUInt32BE(0);
    const flags = head[4]!;
    if ((word0 & 0x80000000) === 0) {
      const streamId = word0 & 0x7fffffff;
      if (streamId === 0) throw new SpdyProtocolError('DATA frame on stream 0');
      // Copied: the caller may keep it after the next push reuses the buffer.
      return { type: 'DATA', streamId, fin: (flags & FLAG_FIN) !== 0, data: Buffer.from(body) };
    }
    const version = (word0 >>> 16) & 0x7fff;
    const type = word0 & 0xffff;
    if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
    const need = (n: number, what: string) => {
      if (body.length < n) throw new SpdyProtocolError(`${what} frame of ${body.length} bytes, need ${n}`);
    };
    const exact = (n: number, what: string) => {
      if (body.length !== n) throw new SpdyProtocolError(`${what} frame of ${body.length} bytes, must be ${n}`);
    };
    const nonZero = (id: number, what: string) => {
      if (id === 0) throw new SpdyProtocolError(`${what} on stream 0`);
      return id;
    };
    const id31 = (off: number) => body.readUInt32BE(off) & 0x7fffffff;
    const fin = (flags & FLAG_FIN) !== 0;
    switch (type) {
      case FrameType.SYN_STREAM: {
        need(10, 'SYN_STREAM');
        return {
          type: 'SYN_STREAM',
          streamId: nonZero(id31(0), 'SYN_STREAM'),
          associatedStreamId: id31(4),
          priority: body[8]! >> 5,
          fin,
          unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
          headers: this.headers.decompress(body.subarray(10)),
        };
      }
      case FrameType.SYN_REPLY:
        need(4, 'SYN_REPLY');
        return { type: 'SYN_REPLY', streamId: nonZero(id31(0), 'SYN_REPLY'), fin, headers: this.headers.decompress(body.subarray(4)) };
      case FrameType.HEADERS:
        need(4, 'HEADERS');
        return { type: 'HEADERS', streamId: nonZero(id31(0), 'HEADERS'), fin, headers: this.headers.decompress(body.subarray(4)) };
      case FrameType.RST_STREAM:
        exact(8, 'RST_STREAM');
        return { type: 'RST_STREAM', streamId: nonZero(id31(0), 'RST_STREAM'), status: body.readUInt32BE(4) };
      case FrameType.SETTINGS: {
        need(4, 'SETTINGS');
        const n = body.readUInt32BE(0);
        exact(4 + 8 * n, 'SETTINGS');
        const settings = [];
        for (let i = 0; i < n; i++) {
          const w = body.readUInt32BE(4 + 8 * i);
          settings.push({ flags: w >>> 24, id: w & 0xffffff, value: body.readUInt32BE(8 + 8 * i) });
        }
        return { type: 'SETTINGS', clear: (flags & FLAG_SETTINGS_CLEAR) !== 0, settings };
      }
      case FrameType.PING:
        exact(4, 'PING');
        return { type: 'PING', id: body.readUInt32BE(0) };
      case FrameType.GOAWAY:
        exact(8, 'GOAWAY');
        return { type: 'GOAWAY', lastGoodStreamId: id31(0), status: body.readUInt32BE(4) };
      case FrameType.WINDOW_UPDATE: {
        exact(8, 'WINDOW_UPDATE');
        const delta = body.readUInt32BE(4) & 0x7fffffff;
        if (delta === 0) throw new SpdyProtocolError('WINDOW_UPDATE with a delta of 0');
        return { type: 'WINDOW_UPDATE', streamId: id31(0), delta };
      }
      default:
        return undefined;
    }
  }
}

// ---------------------------------------------------------------- encoding

/** Frames in, bytes out; keeps the outgoing header compressor. */
export class FrameEncoder {
  private readonly headers = new HeaderCompressor();

  encode(f: SpdyFrame): Buffer {
    switch (f.type) {
      case 'DATA': {
        if (f.data.length > MAX_FRAME_LENGTH) throw new RangeError(`spdy: DATA of ${f.data.length} bytes exceeds ${MAX_FRAME_LENGTH}`);
        const head = Buffer.alloc(8);
        head.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        head.writeUInt32BE((((f.fin ? FLAG_FIN : 0) << 24) | f.data.length) >>> 0, 4);
        return Buffer.concat([head, f.data]);
      }
      case 'SYN_STREAM': {
        const fixed = Buffer.alloc(10);
        fixed.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        fixed.writeUInt32BE(f.associatedStreamId & 0x7fffffff, 4);
        fixed[8] = (f.priority & 0x7) << 5;
        const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
        return control(FrameType.SYN_STREAM, flags, Buffer.concat([fixed, this.headers.compress(f.headers)]));
      }
      case 'SYN_REPLY':
      case 'HEADERS':
        return control(FrameType[f.type], f.fin ? FLAG_FIN : 0, Buffer.concat([u32(f.streamId & 0x7fffffff), this.headers.compress(f.headers)]));
      case 'RST_STREAM':
        return control(FrameType.RST_STREAM, 0, Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.status)]));
      case 'SETTINGS':
        return control(
          FrameType.SETTINGS,
          f.clear ? FLAG_SETTINGS_CLEAR : 0,
          Buffer.concat([u32(f.settings.length), ...f.settings.flatMap((s) => [u32(((s.flags << 24) | (s.id & 0xffffff)) >>> 0), u32(s.value)])]),
        );
      case 'PING':
        return control(FrameType.PING, 0, u32(f.id));
      case 'GOAWAY':
        return control(FrameType.GOAWAY, 0, Buffer.concat([u32(f.lastGoodStreamId & 0x7fffffff), u32(f.status)]));
      case 'WINDOW_UPDATE':
        return control(FrameType.WINDOW_UPDATE, 0, Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.delta & 0x7fffffff)]));
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function control(type: number, flags: number, body: Buffer): Buffer {
  if (body.length > MAX_FRAME_LENGTH) throw new RangeError(`spdy: control frame of ${body.length} bytes exceeds ${MAX_FRAME_LENGTH}`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  head.writeUInt32BE(((flags << 24) | body.length) >>> 0, 4);
  return Buffer.concat([head, body]);
}
