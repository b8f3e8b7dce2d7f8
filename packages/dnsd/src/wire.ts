/**
 * The DNS wire format, only as much as dnsd speaks: a query parser that keeps
 * the question's exact bytes (they are the answer cache's key), an OPT (EDNS0)
 * reader, a response writer with name compression that truncates at a record
 * boundary and sets TC, and a record walker used to read and patch TTLs of
 * forwarded answers. Byte-level on purpose: dns2's bit-level Reader/Writer is
 * the measured bottleneck (see README "Codec").
 */
import ipaddr from 'ipaddr.js';

export const Type = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const Class = { IN: 1, CH: 3, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (12-bit) rcode: only expressible with an OPT record. */
  BADVERS: 16,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(Type).map(([k, v]) => [v, k]));
const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

export function typeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `TYPE${t}`;
}

export function rcodeName(r: number): string {
  return RCODE_NAMES.get(r) ?? `RCODE${r}`;
}

// Header flag bits (second 16-bit word).
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;
/** Largest UDP payload without EDNS (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512;
export const MAX_MESSAGE = 65535;

export interface Edns {
  /** The requestor's advertised UDP payload size (never below 512 once clamped). */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  /** The raw second header word (opcode, RD, CD, …). */
  flags: number;
  opcode: number;
  /** Labels as sent (case kept); a label may hold any byte, decoded latin1. */
  labels: string[];
  /** Lowercased dotted name without trailing dot ("" for the root). */
  name: string;
  type: number;
  class: number;
  /** The question section exactly as sent: qname bytes + type + class. */
  questionBytes: Buffer;
  edns: Edns | undefined;
}

/** Why a packet could not be parsed: `drop` when not even a header is answerable. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly action: 'drop' | 'formerr' | 'notimp',
    readonly id = 0,
    readonly flags = 0,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

/**
 * Checks the owner name at `off` without compression (the question may not
 * point) and returns the offset after it. Labels become strings only when
 * asked for: a cache hit never needs them.
 */
function checkQuestionName(buf: Buffer, off: number, id: number, flags: number): number {
  let total = 1;
  for (;;) {
    if (off >= buf.length) throw new WireError('question name runs past the packet', 'formerr', id, flags);
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if (len & 0xc0) throw new WireError('compression pointer or extended label in question', 'formerr', id, flags);
    total += len + 1;
    if (total > 255) throw new WireError('question name longer than 255 octets', 'formerr', id, flags);
    if (off + 1 + len > buf.length) throw new WireError('question label runs past the packet', 'formerr', id, flags);
    off += 1 + len;
  }
}

/** A parsed query; `labels` and `name` are decoded from the question bytes on first use. */
class ParsedQuery implements Query {
  readonly class: number;
  private labelsCache: string[] | undefined;
  private nameCache: string | undefined;

  constructor(
    readonly id: number,
    readonly flags: number,
    readonly opcode: number,
    readonly type: number,
    klass: number,
    readonly questionBytes: Buffer,
    readonly edns: Edns | undefined,
  ) {
    this.class = klass;
  }

  get labels(): string[] {
    return (this.labelsCache ??= labelsOfQuestion(this.questionBytes));
  }

  get name(): string {
    return (this.nameCache ??= this.labels.join('.').toLowerCase());
  }
}

/** Skips a (possibly compressed) name; returns the offset after it. */
export function skipName(buf: Buffer, off: number): number {
  for (let i = 0; i < 128; i++) {
    if (off >= buf.length) throw new RangeError('name runs past the packet');
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > buf.length) throw new RangeError('pointer runs past the packet');
      return off + 2;
    }
    if (len & 0xc0) throw new RangeError('unknown label type');
    off += 1 + len;
  }
  throw new RangeError('name has too many labels');
}

/**
 * Parses a query. Throws WireError: `drop` for anything that is not a query
 * with a readable header (short packets, responses — never answer those, it
 * invites loops), `notimp` for opcodes other than QUERY, `formerr` otherwise.
 */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < HEADER_SIZE) throw new WireError(`packet of ${buf.length} octets is shorter than a header`, 'drop');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & Flag.QR) throw new WireError('packet is a response', 'drop');
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) throw new WireError(`opcode ${opcode} not implemented`, 'notimp', id, flags);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (qd !== 1) throw new WireError(`question count ${qd}, want 1`, 'formerr', id, flags);
  const end = checkQuestionName(buf, HEADER_SIZE, id, flags);
  if (end + 4 > buf.length) throw new WireError('question type/class runs past the packet', 'formerr', id, flags);
  const type = buf.readUInt16BE(end);
  const klass = buf.readUInt16BE(end + 2);
  const questionBytes = buf.subarray(HEADER_SIZE, end + 4);
  let off = end + 4;
  let edns: Edns | undefined;
  try {
    for (let i = 0; i < an + ns; i++) off = skipRecord(buf, off);
    for (let i = 0; i < ar; i++) {
      const nameStart = off;
      off = skipName(buf, off);
      if (off + 10 > buf.length) throw new RangeError('record header runs past the packet');
      const rtype = buf.readUInt16BE(off);
      const rdlen = buf.readUInt16BE(off + 8);
      if (rtype === Type.OPT) {
        if (edns) throw new WireError('more than one OPT record', 'formerr', id, flags);
        if (buf[nameStart] !== 0) throw new WireError('OPT record owner is not the root', 'formerr', id, flags);
        const size = buf.readUInt16BE(off + 2);
        edns = {
          udpSize: Math.max(CLASSIC_UDP_SIZE, size),
          version: buf[off + 5]!,
          dnssecOk: (buf[off + 6]! & 0x80) !== 0,
        };
      }
      off += 10 + rdlen;
      if (off > buf.length) throw new RangeError('record data runs past the packet');
    }
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError(`malformed record section: ${(err as Error).message}`, 'formerr', id, flags);
  }
  return new ParsedQuery(id, flags, opcode, type, klass, questionBytes, edns);
}

function skipRecord(buf: Buffer, off: number): number {
  off = skipName(buf, off);
  if (off + 10 > buf.length) throw new RangeError('record header runs past the packet');
  off += 10 + buf.readUInt16BE(off + 8);
  if (off > buf.length) throw new RangeError('record data runs past the packet');
  return off;
}

// ---------------------------------------------------------------- records

export type RData =
  | { type: typeof Type.A; address: string }
  | { type: typeof Type.AAAA; address: string }
  | { type: typeof Type.CNAME; target: string }
  | { type: typeof Type.PTR; target: string }
  | { type: typeof Type.NS; target: string }
  | { type: typeof Type.TXT; strings: string[] }
  | { type: typeof Type.SRV; priority: number; weight: number; port: number; target: string }
  | {
      type: typeof Type.SOA;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };

export interface ResourceRecord {
  /** Owner name, dotted, no trailing dot needed. */
  name: string;
  ttl: number;
  data: RData;
}

export interface ResponseSpec {
  id: number;
  /** Query flags to echo: RD and CD are copied from here. */
  queryFlags: number;
  rcode: number;
  aa: boolean;
  ra?: boolean;
  /** The question section bytes to echo (omitted when undefined, e.g. FORMERR). */
  questionBytes?: Buffer;
  answer?: ResourceRecord[];
  authority?: ResourceRecord[];
  additional?: ResourceRecord[];
  /** Echo an OPT with this size and DO bit (only when the query had one). */
  edns?: { udpSize: number; dnssecOk: boolean };
}

// One scratch buffer for every response: encoding is synchronous, so it is
// never shared between two responses in flight; results are copied out.
const scratch = Buffer.allocUnsafe(MAX_MESSAGE + 512);

class Writer {
  off = 0;
  private readonly names = new Map<string, number>();

  constructor(readonly buf: Buffer) {}

  u8(v: number): void {
    this.buf[this.off++] = v & 0xff;
  }
  u16(v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
  }
  u32(v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  /** Registers the question name (at offset 12) so answers point at it. */
  registerQuestion(labels: string[]): void {
    // A label holding a dot would make its dotted key ambiguous; such a name
    // is simply not used as a compression target.
    if (labels.some((l) => l.includes('.'))) return;
    let off = HEADER_SIZE;
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join('.').toLowerCase();
      if (!this.names.has(key)) this.names.set(key, off);
      off += 1 + labels[i]!.length;
    }
  }

  name(name: string): void {
    const labels = splitName(name);
    for (let i = 0; i < labels.length; i++) {
      // Compression keys are case-insensitive (RFC 1035 allows pointing at
      // any equal name); owner case then follows the first occurrence, which
      // is the question's, as CoreDNS keeps the client's case.
      const key = labels.slice(i).join('.').toLowerCase();
      const ptr = this.names.get(key);
      if (ptr !== undefined) {
        this.u16(0xc000 | ptr);
        return;
      }
      if (this.off < 0x3fff) this.names.set(key, this.off);
      const label = labels[i]!;
      if (label.length > 63) throw new RangeError(`label "${label.slice(0, 20)}…" longer than 63 octets`);
      this.u8(label.length);
      this.off += this.buf.write(label, this.off, 'latin1');
    }
    this.u8(0);
  }

  record(rr: ResourceRecord): void {
    this.name(rr.name);
    const d = rr.data;
    this.u16(d.type);
    this.u16(Class.IN);
    this.u32(Math.max(0, Math.min(rr.ttl, 0x7fffffff)));
    const lenAt = this.off;
    this.off += 2;
    switch (d.type) {
      case Type.A: {
        const p = d.address.split('.');
        for (const o of p) this.u8(Number(o));
        break;
      }
      case Type.AAAA:
        this.off += writeIPv6(d.address, this.buf, this.off);
        break;
      case Type.CNAME:
      case Type.PTR:
      case Type.NS:
        this.name(d.target);
        break;
      case Type.TXT:
        for (const s of d.strings) {
          const b = Buffer.from(s, 'utf8').subarray(0, 255);
          this.u8(b.length);
          b.copy(this.buf, this.off);
          this.off += b.length;
        }
        break;
      case Type.SRV:
        this.u16(d.priority);
        this.u16(d.weight);
        this.u16(d.port);
        // RFC 2782: the SRV target is not compressed.
        this.rawName(d.target);
        break;
      case Type.SOA:
        this.name(d.mname);
        this.name(d.rname);
        this.u32(d.serial);
        this.u32(d.refresh);
        this.u32(d.retry);
        this.u32(d.expire);
        this.u32(d.minimum);
        break;
    }
    this.buf.writeUInt16BE(this.off - lenAt - 2, lenAt);
  }

  rawName(name: string): void {
    for (const label of splitName(name)) {
      this.u8(label.length);
      this.off += this.buf.write(label, this.off, 'latin1');
    }
    this.u8(0);
  }
}

function splitName(name: string): string[] {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n === '' ? [] : n.split('.');
}

/** The 16 octets of an IPv6 address, embedded IPv4 (`::ffff:10.1.2.3`) included. */
function writeIPv6(address: string, buf: Buffer, off: number): number {
  const bytes = ipaddr.IPv6.parse(address).toByteArray();
  for (let i = 0; i < 16; i++) buf[off + i] = bytes[i]!;
  return 16;
}

function writeOpt(w: Writer, edns: { udpSize: number; dnssecOk: boolean }, extRcode: number): void {
  w.u8(0);
  w.u16(Type.OPT);
  w.u16(edns.udpSize);
  w.u8(extRcode);
  w.u8(0); // version 0
  w.u16(edns.dnssecOk ? 0x8000 : 0);
  w.u16(0);
}

const OPT_SIZE = 11;

/**
 * Encodes a response into at most `maxSize` octets. When the sections do not
 * fit, answer records are kept up to the last one that fits, authority and
 * additional are dropped and TC is set — the client retries over TCP.
 */
export function encodeResponse(spec: ResponseSpec, maxSize: number): Buffer {
  const w = new Writer(scratch);
  const rcode = spec.rcode;
  // Opcode, RD and CD are echoed from the query.
  let flags = Flag.QR | (spec.queryFlags & (0x7800 | Flag.RD | Flag.CD)) | (rcode & 0xf);
  if (spec.aa) flags |= Flag.AA;
  if (spec.ra) flags |= Flag.RA;
  w.u16(spec.id);
  w.u16(flags);
  w.u16(spec.questionBytes ? 1 : 0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  if (spec.questionBytes) {
    spec.questionBytes.copy(scratch, w.off);
    w.registerQuestion(labelsOfQuestion(spec.questionBytes));
    w.off += spec.questionBytes.length;
  }
  const limit = maxSize - (spec.edns ? OPT_SIZE : 0);
  const sections = [spec.answer ?? [], spec.authority ?? [], spec.additional ?? []];
  const counts = [0, 0, 0];
  let truncated = false;
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const before = w.off;
      w.record(rr);
      if (w.off > limit) {
        w.off = before;
        // A missing additional record is not truncation (RFC 2181 §9);
        // missing answers or authority are.
        truncated = s < 2;
        break outer;
      }
      counts[s]!++;
    }
  }
  if (truncated) {
    counts[1] = 0;
    counts[2] = 0;
    flags |= Flag.TC;
    scratch.writeUInt16BE(flags, 2);
    // Drop whatever authority was written before the overflow.
    w.off = answerEnd(w, spec, counts[0]!);
  }
  scratch.writeUInt16BE(counts[0]!, 6);
  scratch.writeUInt16BE(counts[1]!, 8);
  let ar = counts[2]!;
  if (spec.edns) {
    writeOpt(w, spec.edns, rcode >> 4);
    ar++;
  }
  scratch.writeUInt16BE(ar, 10);
  return Buffer.from(scratch.subarray(0, w.off));
}

/** Offset just after the first `n` answer records of the response in scratch. */
function answerEnd(w: Writer, spec: ResponseSpec, n: number): number {
  let off = HEADER_SIZE + (spec.questionBytes?.length ?? 0);
  for (let i = 0; i < n; i++) off = skipRecord(w.buf, off);
  return off;
}

function labelsOfQuestion(q: Buffer): string[] {
  const labels: string[] = [];
  let off = 0;
  while (off < q.length && q[off]! !== 0) {
    const len = q[off]!;
    labels.push(q.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return labels;
}

/** A header-only error response (FORMERR/NOTIMP) for a query we could not parse. */
export function encodeError(id: number, queryFlags: number, rcode: number): Buffer {
  return encodeResponse({ id, queryFlags, rcode, aa: false }, CLASSIC_UDP_SIZE);
}

// ---------------------------------------------------------------- responses

export interface RecordRef {
  section: 0 | 1 | 2;
  /** Offset of the owner name. */
  nameOffset: number;
  type: number;
  ttl: number;
  /** Offset of the 32-bit TTL field. */
  ttlOffset: number;
  rdataOffset: number;
  rdlength: number;
}

export interface ResponseInfo {
  id: number;
  flags: number;
  rcode: number;
  questionEnd: number;
  records: RecordRef[];
}

/** Walks a response's records (for TTLs and the SOA); throws RangeError when malformed. */
export function walkResponse(buf: Buffer): ResponseInfo {
  if (buf.length < HEADER_SIZE) throw new RangeError('response shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let off = HEADER_SIZE;
  for (let i = buf.readUInt16BE(4); i > 0; i--) {
    off = skipName(buf, off) + 4;
    if (off > buf.length) throw new RangeError('question runs past the response');
  }
  const questionEnd = off;
  const records: RecordRef[] = [];
  let rcode = flags & 0xf;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const nameOffset = off;
      off = skipName(buf, off);
      if (off + 10 > buf.length) throw new RangeError('record header runs past the response');
      const type = buf.readUInt16BE(off);
      const rdlength = buf.readUInt16BE(off + 8);
      if (type === Type.OPT) rcode |= buf[off + 4]! << 4;
      records.push({ section: s as 0 | 1 | 2, nameOffset, type, ttl: buf.readUInt32BE(off + 4), ttlOffset: off + 4, rdataOffset: off + 10, rdlength });
      off += 10 + rdlength;
      if (off > buf.length) throw new RangeError('record data runs past the response');
    }
  }
  return { id, flags, rcode, questionEnd, records };
}

/** A block of equally sized A or AAAA records in the answer section, by byte offsets. */
export interface AddressRun {
  /** Offset of the first record's owner name. */
  start: number;
  /** Bytes per record (owner name, fixed fields and address). */
  size: number;
  count: number;
}

/**
 * The longest run of consecutive answer records of one address type whose
 * owner names are encoded alike and whose sizes match (what a Service's or a
 * headless Service's A records are after name compression), when it holds at
 * least two records; else undefined. Such a run can be rotated by moving
 * whole records, without re-encoding: CoreDNS's loadbalance, on the cached
 * bytes.
 */
export function addressRun(buf: Buffer): AddressRun | undefined {
  let info: ResponseInfo;
  try {
    info = walkResponse(buf);
  } catch {
    return undefined;
  }
  let best: AddressRun | undefined;
  let cur: (AddressRun & { type: number; name: Buffer }) | undefined;
  for (const r of info.records) {
    if (r.section !== 0) break;
    const size = r.rdataOffset + r.rdlength - r.nameOffset;
    const isAddress = (r.type === Type.A && r.rdlength === 4) || (r.type === Type.AAAA && r.rdlength === 16);
    const name = buf.subarray(r.nameOffset, r.rdataOffset - 10);
    const extends_ = cur && isAddress && cur.type === r.type && cur.size === size && cur.start + cur.size * cur.count === r.nameOffset && cur.name.equals(name);
    if (extends_) cur!.count++;
    else cur = isAddress ? { start: r.nameOffset, size, count: 1, type: r.type, name } : undefined;
    if (cur && cur.count >= 2 && (!best || cur.count > best.count)) best = { start: cur.start, size: cur.size, count: cur.count };
  }
  return best;
}

/**
 * Copies `src` into `out` with the records of `run` rotated left by `by`
 * (record i of the output is record (i + by) mod count of the input).
 */
export function copyRotated(src: Buffer, out: Buffer, run: AddressRun, by: number): void {
  const k = by % run.count;
  src.copy(out, 0, 0, run.start);
  const end = run.start + run.size * run.count;
  const split = run.start + run.size * k;
  src.copy(out, run.start, split, end);
  src.copy(out, run.start + (end - split), run.start, split);
  src.copy(out, end, end);
}

/** The question bytes of a message (header must be valid, one question). */
export function questionOf(buf: Buffer): Buffer {
  const end = skipName(buf, HEADER_SIZE) + 4;
  return buf.subarray(HEADER_SIZE, end);
}

/** Builds a plain query (used by the forwarder's health and the tests). */
export function encodeQuery(id: number, name: string, type: number, opts: { rd?: boolean; edns?: Edns } = {}): Buffer {
  const w = new Writer(Buffer.alloc(600));
  w.u16(id);
  w.u16(opts.rd === false ? 0 : Flag.RD);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(opts.edns ? 1 : 0);
  w.rawName(name);
  w.u16(type);
  w.u16(Class.IN);
  if (opts.edns) {
    w.u8(0);
    w.u16(Type.OPT);
    w.u16(opts.edns.udpSize);
    w.u8(0);
    w.u8(opts.edns.version);
    w.u16(opts.edns.dnssecOk ? 0x8000 : 0);
    w.u16(0);
  }
  return Buffer.from(w.buf.subarray(0, w.off));
}

/** Reads a (possibly compressed) name; throws RangeError on loops or overruns. */
export function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) throw new RangeError('name runs past the message');
    const len = buf[off]!;
    if (len === 0) return { name: labels.join('.'), end: end < 0 ? off + 1 : end };
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > buf.length) throw new RangeError('pointer runs past the message');
      if (end < 0) end = off + 2;
      off = buf.readUInt16BE(off) & 0x3fff;
      continue;
    }
    if (len & 0xc0) throw new RangeError('unknown label type');
    if (off + 1 + len > buf.length) throw new RangeError('label runs past the message');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new RangeError('name has too many labels or a pointer loop');
}

/**
 * The A, AAAA and CNAME records of a response's answer section, decoded
 * (used to splice an upstream's answer for an ExternalName target into ours).
 */
export function answerAddresses(buf: Buffer): ResourceRecord[] {
  const info = walkResponse(buf);
  const out: ResourceRecord[] = [];
  for (const r of info.records) {
    if (r.section !== 0) continue;
    const ttl = r.ttl;
    const name = readName(buf, r.nameOffset).name;
    if (r.type === Type.A && r.rdlength === 4) {
      out.push({ name, ttl, data: { type: Type.A, address: [...buf.subarray(r.rdataOffset, r.rdataOffset + 4)].join('.') } });
    } else if (r.type === Type.AAAA && r.rdlength === 16) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(r.rdataOffset + i).toString(16));
      out.push({ name, ttl, data: { type: Type.AAAA, address: groups.join(':') } });
    } else if (r.type === Type.CNAME) {
      out.push({ name, ttl, data: { type: Type.CNAME, target: readName(buf, r.rdataOffset).name } });
    }
  }
  return out;
}

/** Cached responses by kind (NXDOMAIN: denial, anything else: success), read from the rcode byte. */
export function countKinds<T>(entries: Iterable<T>, response: (e: T) => Buffer): { success: number; denial: number } {
  let success = 0;
  let denial = 0;
  for (const e of entries) {
    if ((response(e)[3]! & 0xf) === Rcode.NXDOMAIN) denial++;
    else success++;
  }
  return { success, denial };
}
