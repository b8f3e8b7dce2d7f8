import { SPDY3_HEADER_DICTIONARY } from '../../../src/kubelet/streaming/spdy/dictionary.js';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  FrameDecoder,
  FrameEncoder,
  SpdyProtocolError,
  type SpdyFrame,
} from '../../../src/kubelet/streaming/spdy/frames.js';

/** RFC 1950's checksum, which zlib's FDICT names the dictionary by. */
function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** kubectl 1.32's first frame after `Upgrade: SPDY/3.1` on exec: SYN_STREAM 1 `streamtype: error`. */
const KUBECTL_EXEC_FIRST_SYN = hex('80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff');

describe('SPDY/3 header dictionary', () => {
  it('is the draft\'s 1423 bytes, whose Adler-32 is the DICTID kubectl puts in its zlib header', () => {
    expect(SPDY3_HEADER_DICTIONARY.length).toBe(1423);
    const dictId = KUBECTL_EXEC_FIRST_SYN.readUInt32BE(20);
    expect(dictId).toBe(0xe3c6a7c2);
    expect(adler32(SPDY3_HEADER_DICTIONARY)).toBe(dictId);
  });
});

describe('SPDY frame decoding', () => {
  it('decodes kubectl\'s SYN_STREAM for the error stream', () => {
    const frames = new FrameDecoder().push(KUBECTL_EXEC_FIRST_SYN);
    expect(frames).toEqual([{ type: 'SYN_STREAM', streamId: 1, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { streamtype: ['error'] } }]);
  });

  it('keeps a frame split across pushes until it is complete, byte by byte', () => {
    const d = new FrameDecoder();
    const out: SpdyFrame[] = [];
    for (const b of KUBECTL_EXEC_FIRST_SYN) out.push(...d.push(Buffer.from([b])));
    expect(out).toHaveLength(1);
    expect(d.pending).toBe(0);
  });

  it('skips control frames of unknown types (CREDENTIAL, 10) and keeps going', () => {
    const unknown = hex('8003000a 00000004 00000000');
    const ping = hex('80030006 00000004 00000007');
    expect(new FrameDecoder().push(Buffer.concat([unknown, ping]))).toEqual([{ type: 'PING', id: 7 }]);
  });

  it.each([
    ['SPDY/2', hex('80020006 00000004 00000001'), 'unsupported SPDY version 2'],
    ['DATA on stream 0', hex('00000000 00000001 41'), 'DATA frame on stream 0'],
    ['a short RST_STREAM', hex('80030003 00000004 00000001'), 'RST_STREAM frame of 4 bytes, must be 8'],
    ['a zero WINDOW_UPDATE', hex('80030009 00000008 00000001 00000000'), 'WINDOW_UPDATE with a delta of 0'],
    ['a header block that does not inflate', hex('80030002 00000008 00000001 deadbeef'), 'header block does not inflate'],
  ])('refuses %s with a protocol error', (_what, bytes, message) => {
    expect(() => new FrameDecoder().push(bytes)).toThrow(SpdyProtocolError);
    expect(() => new FrameDecoder().push(bytes)).toThrow(message);
  });

  it('refuses a frame longer than its limit before buffering it', () => {
    expect(() => new FrameDecoder(1024).push(hex('00000001 00100000'))).toThrow('frame of 1048576 bytes exceeds the limit of 1024');
  });
});

describe('SPDY frame encoding', () => {
  const frames: SpdyFrame[] = [
    { type: 'SYN_STREAM', streamId: 3, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { streamtype: ['data'], port: ['80'], requestid: ['0'] } },
    { type: 'SYN_REPLY', streamId: 3, fin: false, headers: {} },
    { type: 'DATA', streamId: 3, fin: false, data: Buffer.from('GET / HTTP/1.1\r\n\r\n') },
    { type: 'DATA', streamId: 3, fin: true, data: Buffer.alloc(0) },
    { type: 'HEADERS', streamId: 3, fin: true, headers: { a: ['1', '2'] } },
    { type: 'RST_STREAM', streamId: 5, status: 5 },
    { type: 'SETTINGS', clear: false, settings: [{ id: 7, flags: 0, value: 1 << 20 }, { id: 4, flags: 1, value: 100 }] },
    { type: 'PING', id: 0xfffffffe },
    { type: 'GOAWAY', lastGoodStreamId: 9, status: 0 },
    { type: 'WINDOW_UPDATE', streamId: 0, delta: 0x7fffffff },
  ];

  it('round-trips every frame type through one encoder and one decoder (shared zlib state)', () => {
    const enc = new FrameEncoder();
    const dec = new FrameDecoder();
    const bytes = Buffer.concat(frames.map((f) => enc.encode(f)));
    expect(dec.push(bytes)).toEqual(frames);
  });

  it('writes the wire layout of the fixed-size frames exactly', () => {
    const enc = new FrameEncoder();
    expect(enc.encode({ type: 'PING', id: 1 }).toString('hex')).toBe('800300060000000400000001');
    expect(enc.encode({ type: 'RST_STREAM', streamId: 3, status: 3 }).toString('hex')).toBe('80030003000000080000000300000003');
    expect(enc.encode({ type: 'GOAWAY', lastGoodStreamId: 7, status: 0 }).toString('hex')).toBe('80030007000000080000000700000000');
    expect(enc.encode({ type: 'WINDOW_UPDATE', streamId: 1, delta: 65536 }).toString('hex')).toBe('80030009000000080000000100010000');
    expect(enc.encode({ type: 'DATA', streamId: 5, fin: true, data: Buffer.from('hi') }).toString('hex')).toBe('00000005010000026869');
  });

  it('compresses a header block to the same bytes as kubectl\'s Go framer (zlib level 9, SPDY/3 dictionary)', () => {
    const syn = new FrameEncoder().encode({ type: 'SYN_STREAM', streamId: 1, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { streamtype: ['error'] } });
    expect(syn.equals(KUBECTL_EXEC_FIRST_SYN)).toBe(true);
  });
});

describe('SPDY name/value blocks', () => {
  it('joins several values with NUL and splits them again', () => {
    const block = encodeHeaderBlock({ 'x-a': ['1', '2'], b: [''] });
    expect(block.toString('hex')).toBe('00000002' + '00000003' + Buffer.from('x-a').toString('hex') + '00000003' + '310032' + '00000001' + '62' + '00000000');
    expect(decodeHeaderBlock(block)).toEqual({ 'x-a': ['1', '2'], b: [''] });
  });

  it.each([
    ['an upper-case name', encodeRaw([['Port', '80']]), 'header name "Port" is not lower case'],
    ['a duplicate name', encodeRaw([['port', '80'], ['port', '81']]), 'duplicate header "port"'],
    ['trailing bytes', Buffer.concat([encodeRaw([['port', '80']]), Buffer.from([0])]), '1 bytes after the last header'],
    ['a truncated block', encodeRaw([['port', '80']]).subarray(0, 10), 'truncated'],
  ])('refuses %s', (_what, block, message) => {
    expect(() => decodeHeaderBlock(block)).toThrow(message);
  });
});

function encodeRaw(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(pairs.length));
  for (const [n, v] of pairs) parts.push(u32(n.length), Buffer.from(n), u32(v.length), Buffer.from(v));
  return Buffer.concat(parts);
}
