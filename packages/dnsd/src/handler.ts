import type { Logger } from '@pilot/common';
import type { RecursionAcl } from './acl.js';
import type { Answerer, ZoneResponse } from './answer.js';
import { AnswerCache } from './cache.js';
import type { Forwarder } from './forward.js';
import {
  CLASSIC_UDP_SIZE,
  Class,
  MAX_MESSAGE,
  Rcode,
  WireError,
  answerAddresses,
  encodeError,
  encodeQuery,
  encodeResponse,
  parseQuery,
  type Query,
  type ResourceRecord,
} from './wire.js';

export type Transport = 'udp' | 'tcp';

export interface QueryContext {
  transport: Transport;
  /** Source address of the query (for the recursion ACL). */
  remote: string;
  /** The client's address family as CoreDNS's metrics label it: 1 IPv4 (IPv4-mapped included), 2 IPv6 (default 1). */
  family?: 1 | 2;
}

/** What happened to one query, for metrics. */
export interface QueryOutcome {
  type: number;
  rcode: number;
  transport: Transport;
  /** 1 IPv4, 2 IPv6 (CoreDNS's `family` label). */
  family?: 1 | 2;
  /** Which path answered it. */
  path: 'cache' | 'zone' | 'forward-cache' | 'forward' | 'refused' | 'error';
}

export interface HandlerOptions {
  answerer: Answerer;
  cache: AnswerCache;
  acl: RecursionAcl;
  forwarder?: Forwarder;
  log?: Logger;
  onOutcome?: (o: QueryOutcome, startedAt: bigint) => void;
}

/**
 * The whole per-query path, one packet in, one packet (or nothing) out:
 * parse → EDNS checks → wire cache → zone answer → (recursion ACL →
 * forwarder). Synchronous for everything but forwarding, so a cache hit is a
 * lookup and a copy. Never throws: a bug answers SERVFAIL, not a crash.
 */
export class QueryHandler {
  constructor(private readonly opts: HandlerOptions) {}

  handle(packet: Buffer, ctx: QueryContext): Buffer | undefined | Promise<Buffer | undefined> {
    const started = process.hrtime.bigint();
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch (err) {
      if (!(err instanceof WireError) || err.action === 'drop') return undefined;
      const rcode = err.action === 'notimp' ? Rcode.NOTIMP : Rcode.FORMERR;
      this.outcome({ type: 0, rcode, transport: ctx.transport, family: ctx.family, path: 'error' }, started);
      return encodeError(err.id, err.flags, rcode);
    }
    try {
      const res = this.answer(q, packet, ctx, started);
      if (res instanceof Promise) return res.catch((err: Error) => this.fail(q, ctx, started, err));
      return res;
    } catch (err) {
      return this.fail(q, ctx, started, err as Error);
    }
  }

  private fail(q: Query, ctx: QueryContext, started: bigint, err: Error): Buffer {
    this.opts.log?.error({ err: err.message, name: q.name, type: q.type }, 'query failed');
    this.outcome({ type: q.type, rcode: Rcode.SERVFAIL, transport: ctx.transport, family: ctx.family, path: 'error' }, started);
    return encodeResponse(
      { id: q.id, queryFlags: q.flags, rcode: Rcode.SERVFAIL, aa: false, questionBytes: q.questionBytes, edns: ednsEcho(q) },
      maxSize(q, ctx.transport),
    );
  }

  private answer(q: Query, packet: Buffer, ctx: QueryContext, started: bigint): Buffer | Promise<Buffer> {
    const { cache, answerer } = this.opts;
    const size = maxSize(q, ctx.transport);
    if (q.edns && q.edns.version > 0) {
      // RFC 6891 §6.1.3: we speak EDNS version 0 only.
      this.outcome({ type: q.type, rcode: Rcode.BADVERS, transport: ctx.transport, family: ctx.family, path: 'error' }, started);
      return encodeResponse({ id: q.id, queryFlags: q.flags, rcode: Rcode.BADVERS, aa: false, questionBytes: q.questionBytes, edns: ednsEcho(q) }, size);
    }
    const key = AnswerCache.key(ctx.transport, q.questionBytes, q.edns);
    const hit = cache.get(key, q.id, q.flags);
    if (hit) {
      this.outcome({ type: q.type, rcode: hit[3]! & 0xf, transport: ctx.transport, family: ctx.family, path: 'cache' }, started);
      return hit;
    }
    if (q.class !== Class.IN) {
      this.outcome({ type: q.type, rcode: Rcode.REFUSED, transport: ctx.transport, family: ctx.family, path: 'refused' }, started);
      return this.simple(q, Rcode.REFUSED, size);
    }
    const r = answerer.answer(q);
    if (r.kind === 'response' && r.chase !== undefined && this.opts.forwarder && this.opts.acl.allows(ctx.remote)) {
      return this.chase(q, r, ctx, started, size);
    }
    if (r.kind === 'response') {
      const out = encodeResponse(
        {
          id: q.id,
          queryFlags: q.flags,
          rcode: r.rcode,
          aa: r.aa,
          questionBytes: q.questionBytes,
          answer: r.answer,
          authority: r.authority,
          additional: r.additional,
          edns: ednsEcho(q),
        },
        size,
      );
      if (r.cacheable) cache.set(key, out);
      this.outcome({ type: q.type, rcode: r.rcode, transport: ctx.transport, family: ctx.family, path: 'zone' }, started);
      return out;
    }
    const { forwarder, acl } = this.opts;
    if (!acl.allows(ctx.remote) || !forwarder) {
      this.outcome({ type: q.type, rcode: Rcode.REFUSED, transport: ctx.transport, family: ctx.family, path: 'refused' }, started);
      return this.simple(q, Rcode.REFUSED, size);
    }
    // A forward-cache hit is answered synchronously, like a zone cache hit.
    const cached = forwarder.cached(q, key);
    if (cached) {
      this.outcome({ type: q.type, rcode: cached[3]! & 0xf, transport: ctx.transport, family: ctx.family, path: 'forward-cache' }, started);
      return cached;
    }
    return forwarder.fetch(q, packet, ctx.transport, key).then((res) => {
      const path = res.source === 'cache' ? 'forward-cache' : 'forward';
      this.outcome({ type: q.type, rcode: res.response[3]! & 0xf, transport: ctx.transport, family: ctx.family, path }, started);
      return res.response;
    });
  }

  /**
   * An ExternalName whose target lies outside the zone: the target's records
   * come from the forwarder (as CoreDNS re-enters its plugin chain), so stub
   * resolvers that do not follow CNAMEs themselves still get addresses. Only
   * for clients allowed to recurse; not kept in the answer cache (the
   * upstream's TTLs govern it, in the forward cache).
   */
  private async chase(q: Query, r: ZoneResponse, ctx: QueryContext, started: bigint, size: number): Promise<Buffer> {
    const target = r.chase!;
    const subRaw = encodeQuery(q.id, target, q.type, { edns: { udpSize: 1232, version: 0, dnssecOk: false } });
    const sub = parseQuery(subRaw);
    const res = await this.opts.forwarder!.forward(sub, subRaw, ctx.transport, AnswerCache.key(ctx.transport, sub.questionBytes, sub.edns));
    let rcode: number = Rcode.NOERROR;
    let extra: ResourceRecord[] = [];
    try {
      const upstreamRcode = res.response[3]! & 0xf;
      // RFC 6604: the rcode speaks for the last name of the chain.
      if (upstreamRcode === Rcode.NXDOMAIN) rcode = Rcode.NXDOMAIN;
      extra = answerAddresses(res.response);
    } catch {
      extra = [];
    }
    this.outcome({ type: q.type, rcode, transport: ctx.transport, family: ctx.family, path: 'forward' }, started);
    return encodeResponse(
      { id: q.id, queryFlags: q.flags, rcode, aa: r.aa, questionBytes: q.questionBytes, answer: [...r.answer, ...extra], edns: ednsEcho(q) },
      size,
    );
  }

  private simple(q: Query, rcode: number, size: number): Buffer {
    return encodeResponse({ id: q.id, queryFlags: q.flags, rcode, aa: false, questionBytes: q.questionBytes, edns: ednsEcho(q) }, size);
  }

  private outcome(o: QueryOutcome, started: bigint): void {
    this.opts.onOutcome?.(o, started);
  }
}

/** Largest response for this query: 64 KiB over TCP, else the EDNS size or 512. */
export function maxSize(q: Query, transport: Transport): number {
  if (transport === 'tcp') return MAX_MESSAGE;
  return q.edns ? Math.min(q.edns.udpSize, MAX_MESSAGE) : CLASSIC_UDP_SIZE;
}

/** The OPT we echo: only when the query had one; our size mirrors the client's (capped). */
function ednsEcho(q: Query): { udpSize: number; dnssecOk: boolean } | undefined {
  return q.edns ? { udpSize: Math.min(q.edns.udpSize, 4096), dnssecOk: q.edns.dnssecOk } : undefined;
}
