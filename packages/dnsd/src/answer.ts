import { isIPv4 } from 'node:net';
import { parseName, zoneLabels } from './names.js';
import type { EndpointAddressRecord, PortRecord, ServiceRecord } from './records.js';
import { soaRecord } from './soa.js';
import { Class, Rcode, Type, type ResourceRecord } from './wire.js';
import type { ZoneIndex } from './zone-index.js';

/**
 * Question → complete response for the cluster zone, as a pure function of
 * the index. Shaped after CoreDNS's kubernetes plugin and its shared
 * response building (backend_lookup.go): NXDOMAIN vs NODATA per
 * reference/dns.md, the zone SOA in every negative, AA on everything.
 */

export type PodMode = 'disabled' | 'insecure';

export interface AnswerOptions {
  /** Cluster domain, e.g. "cluster.local". */
  zone: string;
  /** TTL of cluster records (CoreDNS default 5). */
  ttl: number;
  pods: PodMode;
  /** Addresses of dnsd itself, for `ns.dns.<zone>` (the apex NS target). */
  nameservers?: string[];
}

export interface QuestionLike {
  /** Labels as sent (case kept). */
  labels: string[];
  /** Lowercased dotted name. */
  name: string;
  type: number;
  class: number;
}

export interface ZoneResponse {
  kind: 'response';
  rcode: number;
  aa: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /** Safe to keep in the wire cache until the index changes. */
  cacheable: boolean;
  /** An ExternalName target outside the zone that the server may chase upstream. */
  chase?: string;
}

export type Resolution = { kind: 'forward' } | ZoneResponse;

const FORWARD: Resolution = { kind: 'forward' };
const VERSION_TTL = 28800;
export const SPEC_VERSION = '1.1.0';

/** A prepared answerer: the zone is split once, not per query. */
export class Answerer {
  private readonly zoneLabels: string[];
  readonly zone: string;

  constructor(
    private readonly index: ZoneIndex,
    private readonly opts: AnswerOptions,
  ) {
    this.zoneLabels = zoneLabels(opts.zone);
    this.zone = this.zoneLabels.join('.');
  }

  answer(q: QuestionLike): Resolution {
    return this.resolve(q, 0);
  }

  private resolve(q: QuestionLike, depth: number): Resolution {
    const p = parseName(q.name, this.zoneLabels, q.labels);
    if (p.kind === 'outside') return FORWARD;
    const { index } = this;
    const ttl = this.opts.ttl;
    const owner = q.labels.join('.');
    // The zone as the client spelled it, so the SOA matches the question's case.
    const zoneOwner =
      p.kind === 'reverse' ? this.zone : q.labels.slice(q.labels.length - this.zoneLabels.length).join('.');
    const want = (t: number) => q.type === t || q.type === Type.ANY;

    const positive = (answer: ResourceRecord[], additional: ResourceRecord[] = []): ZoneResponse =>
      answer.length === 0 ? nodata() : { kind: 'response', rcode: Rcode.NOERROR, aa: true, answer, authority: [], additional, cacheable: true };
    const negative = (rcode: number): ZoneResponse => ({
      kind: 'response',
      rcode,
      aa: true,
      answer: [],
      authority: [soaRecord(zoneOwner, ttl, index.serial)],
      additional: [],
      cacheable: true,
    });
    const nodata = () => negative(Rcode.NOERROR);
    const nxdomain = () => negative(Rcode.NXDOMAIN);

    if (q.class !== Class.IN) return refuse();

    if (p.kind === 'reverse') {
      const entries = index.synced ? index.reverse(p.ip) : [];
      // Not ours: the reverse zones fall through to the upstream (CoreDNS's
      // `fallthrough in-addr.arpa ip6.arpa`).
      if (entries.length === 0) return FORWARD;
      if (!want(Type.PTR)) {
        return { kind: 'response', rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [], cacheable: true };
      }
      return positive(entries.map((e) => ({ name: owner, ttl, data: { type: Type.PTR, target: `${e.relName}.${this.zone}` } })));
    }

    if (q.type === Type.AXFR || q.type === Type.IXFR) return refuse();
    if (!index.synced) {
      return { kind: 'response', rcode: Rcode.SERVFAIL, aa: false, answer: [], authority: [], additional: [], cacheable: false };
    }

    const addrRecords = (name: string, ips: Iterable<string>): ResourceRecord[] => {
      const out: ResourceRecord[] = [];
      const seen = new Set<string>();
      for (const ip of ips) {
        if (seen.has(ip)) continue;
        seen.add(ip);
        const v4 = isIPv4(ip);
        if (v4 && want(Type.A)) out.push({ name, ttl, data: { type: Type.A, address: ip } });
        if (!v4 && want(Type.AAAA)) out.push({ name, ttl, data: { type: Type.AAAA, address: ip } });
      }
      return out;
    };
    const glue = (name: string, ips: string[]): ResourceRecord[] =>
      ips.map((ip) => ({ name, ttl, data: isIPv4(ip) ? { type: Type.A, address: ip } : { type: Type.AAAA, address: ip } }));

    switch (p.kind) {
      case 'invalid':
        return nxdomain();
      case 'apex':
        if (want(Type.SOA) || want(Type.NS)) {
          const answer: ResourceRecord[] = [];
          const additional: ResourceRecord[] = [];
          if (want(Type.SOA)) answer.push(soaRecord(owner, ttl, index.serial));
          if (want(Type.NS)) {
            const ns = `ns.dns.${this.zone}`;
            answer.push({ name: owner, ttl, data: { type: Type.NS, target: ns } });
            additional.push(...glue(ns, this.opts.nameservers ?? []));
          }
          return positive(answer, additional);
        }
        return nodata();
      case 'nameserver':
        return positive(addrRecords(owner, this.opts.nameservers ?? []));
      case 'empty-nonterminal':
        return nodata();
      case 'dns-version':
        return want(Type.TXT) ? positive([{ name: owner, ttl: VERSION_TTL, data: { type: Type.TXT, strings: [SPEC_VERSION] } }]) : nodata();
      case 'namespace':
      case 'pod-namespace':
        return index.hasNamespace(p.namespace) ? nodata() : nxdomain();
      case 'pod': {
        if (this.opts.pods === 'disabled' || !p.ip || !index.hasNamespace(p.namespace)) return nxdomain();
        return positive(addrRecords(owner, [p.ip]));
      }
      case 'service': {
        const svc = index.service(p.namespace, p.service);
        if (!svc) return nxdomain();
        if (svc.externalName !== undefined) return this.externalName(q, owner, svc.externalName, depth, negative);
        if (svc.headless) {
          const published = index.publishedAddresses(svc);
          // The spec's one mandated negative: a headless service with no ready endpoints.
          if (published.length === 0) return nxdomain();
          if (q.type === Type.SRV) return this.srv(owner, svc, published, undefined);
          return positive(addrRecords(owner, published.map((a) => a.address.ip)));
        }
        if (q.type === Type.SRV) return this.srv(owner, svc, [], undefined);
        return positive(addrRecords(owner, svc.clusterIPs));
      }
      case 'endpoint': {
        const svc = index.service(p.namespace, p.service);
        if (!svc || !svc.headless) return nxdomain();
        const ips = index
          .publishedAddresses(svc)
          .filter((a) => a.address.hostname === p.endpoint)
          .map((a) => a.address.ip);
        if (ips.length === 0) return nxdomain();
        return positive(addrRecords(owner, ips));
      }
      case 'srv': {
        const svc = index.service(p.namespace, p.service);
        if (!svc || svc.externalName !== undefined) return nxdomain();
        const published = svc.headless ? index.publishedAddresses(svc) : [];
        const res = this.srv(owner, svc, published, { name: p.port, protocol: p.protocol });
        if (res.answer.length === 0) return nxdomain();
        return want(Type.SRV) ? res : nodata();
      }
    }
  }

  /**
   * SRV records for named ports. ClusterIP: one per port, target the service.
   * Headless: N endpoints × M ports, target the endpoint name. Priority 0,
   * weight floor(100/N) (min 1) as CoreDNS; targets' addresses as glue.
   */
  private srv(
    owner: string,
    svc: ServiceRecord,
    published: { address: EndpointAddressRecord; set: { ports: PortRecord[] } }[],
    match: { name: string; protocol: string } | undefined,
  ): ZoneResponse {
    const ttl = this.opts.ttl;
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.zone}`;
    const matches = (p: PortRecord) => p.name !== '' && (!match || (p.name === match.name && p.protocol === match.protocol));
    const targets: { target: string; port: number; ip: string }[] = [];
    if (!svc.headless) {
      for (const p of svc.ports) if (matches(p)) targets.push({ target: svcName, port: p.port, ip: '' });
    } else {
      const seen = new Set<string>();
      for (const { address, set } of published) {
        for (const p of set.ports) {
          if (!matches(p)) continue;
          const target = `${address.hostname}.${svcName}`;
          const key = `${target}:${p.port}:${address.ip}`;
          if (seen.has(key)) continue;
          seen.add(key);
          targets.push({ target, port: p.port, ip: address.ip });
        }
      }
    }
    const weight = Math.max(1, Math.floor(100 / Math.max(1, targets.length)));
    const answer: ResourceRecord[] = targets.map((t) => ({
      name: owner,
      ttl,
      data: { type: Type.SRV, priority: 0, weight, port: t.port, target: t.target },
    }));
    const additional: ResourceRecord[] = [];
    const glued = new Set<string>();
    for (const t of targets) {
      const ips = svc.headless ? [t.ip] : svc.clusterIPs;
      for (const ip of ips) {
        const key = `${t.target}/${ip}`;
        if (glued.has(key)) continue;
        glued.add(key);
        additional.push({ name: t.target, ttl, data: isIPv4(ip) ? { type: Type.A, address: ip } : { type: Type.AAAA, address: ip } });
      }
    }
    return { kind: 'response', rcode: Rcode.NOERROR, aa: true, answer, authority: [], additional, cacheable: true };
  }

  /** ExternalName: a CNAME for every type; an in-zone target is chased here. */
  private externalName(
    q: QuestionLike,
    owner: string,
    target: string,
    depth: number,
    negative: (rcode: number) => ZoneResponse,
  ): ZoneResponse {
    const cname: ResourceRecord = { name: owner, ttl: this.opts.ttl, data: { type: Type.CNAME, target } };
    const base: ZoneResponse = { kind: 'response', rcode: Rcode.NOERROR, aa: true, answer: [cname], authority: [], additional: [], cacheable: true };
    if (q.type === Type.CNAME || depth >= 8) return base;
    const inner = this.resolve({ labels: target.split('.'), name: target, type: q.type, class: q.class }, depth + 1);
    if (inner.kind === 'forward') {
      // Chased by the server through the forwarder for clients allowed to
      // recurse; the result depends on the client, so it is never wire-cached.
      return q.type === Type.A || q.type === Type.AAAA ? { ...base, chase: target, cacheable: false } : base;
    }
    if (inner.rcode === Rcode.SERVFAIL) return inner;
    if (inner.answer.length === 0) {
      // RFC 6604: the rcode speaks for the last name of the chain.
      const neg = negative(inner.rcode);
      return { ...neg, answer: [cname] };
    }
    return { ...base, answer: [cname, ...inner.answer], additional: inner.additional };
  }
}

function refuse(): ZoneResponse {
  return { kind: 'response', rcode: Rcode.REFUSED, aa: false, answer: [], authority: [], additional: [], cacheable: true };
}
