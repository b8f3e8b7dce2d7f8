import { createSocket, type Socket } from 'node:dgram';
import { connect, isIPv4, isIPv6, BlockList } from 'node:net';
import { randomInt } from 'node:crypto';
import { patchForQuery } from './cache.js';
import { addressRun, copyRotated, countKinds, Rcode, Type, encodeResponse, walkResponse, type AddressRun, type Query, type RecordRef } from './wire.js';

/**
 * Forwarding of names outside the cluster zone: upstreams tried in turn with
 * a per-upstream timeout, identical in-flight questions coalesced, answers
 * kept in a bounded cache that honours their TTLs (positive: the smallest
 * record TTL; negative: the SOA's min(TTL, minimum), RFC 2308). When no
 * upstream answers the client gets SERVFAIL — never silence.
 */

export interface Upstream {
  host: string;
  port: number;
}

export function formatUpstream(u: Upstream): string {
  return u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** "1.2.3.4", "1.2.3.4:5353", "[::1]:53", "::1" → Upstream; throws naming the bad value. */
export function parseUpstream(s: string): Upstream {
  const v = s.trim();
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (m) return checkUpstream(m[1]!, m[2], s);
  if (isIPv6(v)) return { host: v, port: 53 };
  m = /^([^:]+)(?::(\d+))?$/.exec(v);
  if (m) return checkUpstream(m[1]!, m[2], s);
  throw new Error(`upstream "${s}" is not an address[:port]`);
}

function checkUpstream(host: string, port: string | undefined, orig: string): Upstream {
  if (!isIPv4(host) && !isIPv6(host)) throw new Error(`upstream "${orig}" is not an IP address`);
  const p = port === undefined ? 53 : Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`upstream "${orig}" has a bad port`);
  return { host, port: p };
}

/** The nameservers of a resolv.conf text, in order. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, '');
    if (isIPv4(host) || isIPv6(host)) out.push({ host, port: 53 });
  }
  return out;
}

export interface LoopGuard {
  /** dnsd's own listening addresses (any port match counts as self). */
  ownAddresses: string[];
  ownPort: number;
  clusterIp?: string;
  /** The service network, e.g. 10.0.0.0/24: a forwarder there would loop back to dnsd. */
  serviceCidr?: string;
}

/** Drops upstreams that would be dnsd itself (no forwarding loop), saying why. */
export function filterUpstreams(ups: Upstream[], guard: LoopGuard): { kept: Upstream[]; dropped: { upstream: Upstream; why: string }[] } {
  const service = new BlockList();
  if (guard.serviceCidr) {
    const [net, len] = guard.serviceCidr.split('/');
    service.addSubnet(net!, Number(len), isIPv6(net!) ? 'ipv6' : 'ipv4');
  }
  const kept: Upstream[] = [];
  const dropped: { upstream: Upstream; why: string }[] = [];
  const own = new Set(guard.ownAddresses);
  for (const u of ups) {
    const fam = isIPv6(u.host) ? 'ipv6' : 'ipv4';
    if (u.host === guard.clusterIp) dropped.push({ upstream: u, why: 'is the cluster DNS IP' });
    else if (guard.serviceCidr && service.check(u.host, fam)) dropped.push({ upstream: u, why: `is in the service network ${guard.serviceCidr}` });
    else if (u.port === guard.ownPort && (own.has(u.host) || own.has('0.0.0.0') || own.has('::'))) {
      // A wildcard TCP listener on our port covers every local address; a
      // loopback upstream on our port is then certainly us.
      if (own.has(u.host) || u.host.startsWith('127.') || u.host === '::1') dropped.push({ upstream: u, why: 'is dnsd itself' });
      else kept.push(u);
    } else kept.push(u);
  }
  return { kept, dropped };
}

// ---------------------------------------------------------------- cache

interface ForwardEntry {
  response: Buffer;
  storedAt: number;
  expiresAt: number;
  ttls: { offset: number; ttl: number }[];
  /** The answer's address records when there are several and rotation is on. */
  run: AddressRun | undefined;
  /** Hits so far: the next hit's rotation. */
  turn: number;
}

const MAX_POSITIVE_TTL = 3600;
const MAX_NEGATIVE_TTL = 1800;

/**
 * How long a forwarded response may be cached, in seconds (0 = not at all):
 * positive → smallest TTL of answer/authority records; negative (NXDOMAIN or
 * empty NOERROR) → min(SOA TTL, SOA minimum), not cached without an SOA.
 */
export function cacheTtl(response: Buffer, info = walkResponse(response)): number {
  if (info.flags & 0x0200) return 0; // truncated: never cache a partial answer
  if (info.rcode !== Rcode.NOERROR && info.rcode !== Rcode.NXDOMAIN) return 0;
  const records = info.records.filter((r) => r.type !== Type.OPT && r.section < 2);
  const answers = records.filter((r) => r.section === 0);
  if (info.rcode === Rcode.NOERROR && answers.length > 0) {
    return Math.min(MAX_POSITIVE_TTL, ...records.map((r) => r.ttl));
  }
  const soa = records.find((r) => r.section === 1 && r.type === Type.SOA);
  if (!soa) return 0;
  const minimum = response.readUInt32BE(soa.rdataOffset + soa.rdlength - 4);
  return Math.min(MAX_NEGATIVE_TTL, soa.ttl, minimum);
}

export class ForwardCache {
  private readonly entries = new Map<string, ForwardEntry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
    /** Rotate several A/AAAA records on each hit, as the answer cache does (CoreDNS's loadbalance). */
    private readonly rotate = false,
  ) {}

  /** The cached response for this query, TTLs aged by the time it sat here. */
  get(key: string, id: number, queryFlags: number): Buffer | undefined {
    const e = this.entries.get(key);
    const now = this.now();
    if (!e || e.expiresAt <= now) {
      if (e) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    const out = Buffer.allocUnsafe(e.response.length);
    e.response.copy(out);
    patchForQuery(out, id, queryFlags);
    const aged = Math.floor((now - e.storedAt) / 1000);
    for (const t of e.ttls) out.writeUInt32BE(Math.max(0, t.ttl - aged), t.offset);
    if (!e.run) return out;
    // TTLs are patched where the upstream put them; then whole records move.
    const rotated = Buffer.allocUnsafe(out.length);
    copyRotated(out, rotated, e.run, ++e.turn);
    return rotated;
  }

  /** Stores a response if its TTLs allow; returns the TTL used (0 = not stored). */
  set(key: string, response: Buffer): number {
    let info;
    try {
      info = walkResponse(response);
    } catch {
      return 0;
    }
    const ttl = cacheTtl(response, info);
    if (ttl <= 0) return 0;
    if (this.entries.size >= this.maxEntries) {
      const now = this.now();
      for (const [k, v] of this.entries) if (v.expiresAt <= now) this.entries.delete(k);
      if (this.entries.size >= this.maxEntries) {
        const first = this.entries.keys().next();
        if (!first.done) this.entries.delete(first.value);
      }
    }
    const now = this.now();
    const ttls = info.records.filter((r: RecordRef) => r.type !== Type.OPT).map((r) => ({ offset: r.ttlOffset, ttl: r.ttl }));
    this.entries.set(key, { response: Buffer.from(response), storedAt: now, expiresAt: now + ttl * 1000, ttls, run: this.rotate ? addressRun(response) : undefined, turn: 0 });
    return ttl;
  }

  /** Entries by kind, for coredns_cache_entries: NXDOMAIN answers are denials. */
  kinds(): { success: number; denial: number } {
    return countKinds(this.entries.values(), (e) => e.response);
  }

  get size(): number {
    return this.entries.size;
  }
}

// ---------------------------------------------------------------- transport

/** Sends one query to one upstream and returns its response (or throws). */
export interface Exchanger {
  exchange(upstream: Upstream, query: Buffer, opts: { tcp: boolean; timeoutMs: number }): Promise<Buffer>;
  close(): void;
}

interface Pending {
  upstream: Upstream;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One UDP socket per family shared by every forwarded query (IDs tell the
 * replies apart, and must come from the upstream we asked); TCP gets a
 * connection per query, used only when the client itself came over TCP.
 */
export class SocketExchanger implements Exchanger {
  private readonly sockets = new Map<'udp4' | 'udp6', Socket>();
  private readonly pending = new Map<number, Pending>();

  private socket(family: 'udp4' | 'udp6'): Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family);
    s.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = this.pending.get(id);
      // Only the upstream we asked may answer (no spoofing from elsewhere).
      if (!p || p.upstream.host !== rinfo.address || p.upstream.port !== rinfo.port) return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(msg);
    });
    s.on('error', () => {
      /* per-query timeouts report failures */
    });
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  exchange(upstream: Upstream, query: Buffer, opts: { tcp: boolean; timeoutMs: number }): Promise<Buffer> {
    return opts.tcp ? this.tcp(upstream, query, opts.timeoutMs) : this.udp(upstream, query, opts.timeoutMs);
  }

  private udp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.pending.size >= 60_000) return reject(new Error('too many queries in flight'));
      let id = randomInt(0x10000);
      while (this.pending.has(id)) id = (id + 1) & 0xffff;
      const q = Buffer.from(query);
      q.writeUInt16BE(id, 0);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer from ${formatUpstream(upstream)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { upstream, resolve, reject, timer });
      this.socket(isIPv6(upstream.host) ? 'udp6' : 'udp4').send(q, upstream.port, upstream.host, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`send to ${formatUpstream(upstream)}: ${err.message}`));
      });
    });
  }

  private tcp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const id = randomInt(0x10000);
      const q = Buffer.alloc(query.length + 2);
      q.writeUInt16BE(query.length, 0);
      query.copy(q, 2);
      q.writeUInt16BE(id, 2);
      const sock = connect({ host: upstream.host, port: upstream.port });
      let data = Buffer.alloc(0);
      const done = (err: Error | undefined, res?: Buffer) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(res!);
      };
      const timer = setTimeout(() => done(new Error(`no answer from ${formatUpstream(upstream)} over TCP within ${timeoutMs} ms`)), timeoutMs);
      sock.on('connect', () => sock.write(q));
      sock.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          const msg = data.subarray(2, 2 + data.readUInt16BE(0));
          if (msg.length < 12 || msg.readUInt16BE(0) !== id) return done(new Error(`bad TCP answer from ${formatUpstream(upstream)}`));
          done(undefined, Buffer.from(msg));
        }
      });
      sock.on('error', (err) => done(new Error(`TCP to ${formatUpstream(upstream)}: ${err.message}`)));
      sock.on('close', () => done(new Error(`TCP to ${formatUpstream(upstream)} closed before an answer`)));
    });
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('forwarder closed'));
      this.pending.delete(id);
    }
  }
}

// ---------------------------------------------------------------- forwarder

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Per-upstream read timeout (CoreDNS: 2 s). */
  timeoutMs?: number;
  /** Upstreams tried per query before SERVFAIL. */
  maxTries?: number;
  cache?: ForwardCache;
  exchanger?: Exchanger;
  onUpstreamFailure?: (upstream: Upstream, err: Error) => void;
  /** Every upstream exchange: the answer's rcode (undefined: none came) and how long it took. */
  onExchange?: (upstream: Upstream, rcode: number | undefined, seconds: number) => void;
}

export interface ForwardResult {
  response: Buffer;
  /** 'cache' | 'upstream' | 'servfail' — for metrics and logs. */
  source: 'cache' | 'upstream' | 'servfail';
}

export class Forwarder {
  readonly cache: ForwardCache;
  private readonly exchanger: Exchanger;
  private readonly inflight = new Map<string, Promise<Buffer | undefined>>();
  private next = 0;

  constructor(private readonly opts: ForwarderOptions) {
    this.cache = opts.cache ?? new ForwardCache();
    this.exchanger = opts.exchanger ?? new SocketExchanger();
  }

  get upstreams(): Upstream[] {
    return this.opts.upstreams;
  }

  /**
   * Answers a query from the cache or an upstream. `raw` is the client's
   * packet, forwarded as is (its EDNS size and DO bit go along, so the
   * upstream's response already fits the client) with a fresh ID.
   */
  async forward(q: Query, raw: Buffer, transport: 'udp' | 'tcp', key: string): Promise<ForwardResult> {
    const hit = this.cached(q, key);
    if (hit) return { response: hit, source: 'cache' };
    return this.fetch(q, raw, transport, key);
  }

  /**
   * The forward cache's answer re-addressed to this query, synchronously —
   * the hot path takes a hit without a promise; `fetch` does the rest.
   */
  cached(q: Query, key: string): Buffer | undefined {
    return this.cache.get(key, q.id, q.flags);
  }

  /** `forward` after a cache miss: one upstream exchange, shared by identical questions in flight. */
  async fetch(q: Query, raw: Buffer, transport: 'udp' | 'tcp', key: string): Promise<ForwardResult> {
    let p = this.inflight.get(key);
    if (!p) {
      p = this.ask(raw, transport === 'tcp')
        .then((res) => {
          if (res) this.cache.set(key, res);
          return res;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const res = await p;
    if (!res) {
      return {
        response: encodeResponse(
          { id: q.id, queryFlags: q.flags, rcode: Rcode.SERVFAIL, aa: false, ra: true, questionBytes: q.questionBytes, edns: q.edns && { udpSize: q.edns.udpSize, dnssecOk: q.edns.dnssecOk } },
          q.edns ? q.edns.udpSize : 512,
        ),
        source: 'servfail',
      };
    }
    const out = Buffer.from(res);
    patchForQuery(out, q.id, q.flags);
    return { response: out, source: 'upstream' };
  }

  private async ask(raw: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    const ups = this.opts.upstreams;
    if (ups.length === 0) return undefined;
    const tries = Math.min(ups.length, this.opts.maxTries ?? 3);
    const start = this.next++ % ups.length;
    let fallback: Buffer | undefined;
    for (let i = 0; i < tries; i++) {
      const u = ups[(start + i) % ups.length]!;
      const t0 = performance.now();
      try {
        const res = await this.exchanger.exchange(u, raw, { tcp, timeoutMs: this.opts.timeoutMs ?? 2000 });
        const rcode = res.readUInt16BE(2) & 0xf;
        this.opts.onExchange?.(u, rcode, (performance.now() - t0) / 1000);
        // A failing upstream's SERVFAIL/REFUSED is worth a second opinion.
        if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) {
          fallback = res;
          this.opts.onUpstreamFailure?.(u, new Error(`answered rcode ${rcode}`));
          continue;
        }
        return res;
      } catch (err) {
        this.opts.onExchange?.(u, undefined, (performance.now() - t0) / 1000);
        this.opts.onUpstreamFailure?.(u, err as Error);
      }
    }
    return fallback;
  }

  close(): void {
    this.exchanger.close();
  }
}

