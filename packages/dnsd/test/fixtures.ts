import dns2 from 'dns2';
import type { Logger } from '@pilot/common';
import {
  AnswerCache,
  Answerer,
  QueryHandler,
  RecursionAcl,
  Type,
  ZoneIndex,
  encodeQuery,
  slimObjects,
  type Forwarder,
  type KubeObject,
  type PodMode,
} from '../src/index.js';

/** A small cluster: the objects a test index is built from. */
export function clusterObjects(): KubeObject[] {
  return [
    { kind: 'Namespace', metadata: { name: 'default' } },
    { kind: 'Namespace', metadata: { name: 'kube-system' } },
    { kind: 'Namespace', metadata: { name: 'empty' } },
    {
      kind: 'Service',
      metadata: { name: 'frontend', namespace: 'default' },
      spec: { clusterIP: '10.0.0.50', ports: [{ name: 'http', port: 8888, protocol: 'TCP' }, { port: 9999 }] },
    },
    {
      kind: 'Service',
      metadata: { name: 'dual', namespace: 'default' },
      spec: { clusterIP: '10.0.0.60', clusterIPs: ['10.0.0.60', 'fd00::60'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    },
    {
      kind: 'Service',
      metadata: { name: 'db', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    },
    {
      kind: 'Endpoints',
      metadata: { name: 'db', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '10.1.1.5', hostname: 'db-0' }, { ip: '10.1.2.6' }],
          notReadyAddresses: [{ ip: '10.1.3.7', hostname: 'db-2' }],
          ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
        },
      ],
    },
    { kind: 'Service', metadata: { name: 'lonely', namespace: 'default' }, spec: { clusterIP: 'None' } },
    { kind: 'Endpoints', metadata: { name: 'lonely', namespace: 'default' }, subsets: [{ notReadyAddresses: [{ ip: '10.1.1.9' }] }] },
    { kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com.' } },
    { kind: 'Service', metadata: { name: 'alias', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'frontend.default.svc.cluster.local' } },
  ];
}

export interface Decoded {
  rcode: number;
  aa: boolean;
  tc: boolean;
  ra: boolean;
  id: number;
  rd: boolean;
  questions: { name: string; type: number }[];
  answers: Record<string, unknown>[];
  authorities: Record<string, unknown>[];
  additionals: Record<string, unknown>[];
}

/** Decodes a response with dns2 — an independent codec checks ours. */
export function decode(buf: Buffer): Decoded {
  const p = dns2.Packet.parse(buf) as unknown as {
    header: { id: number; aa: number; tc: number; ra: number; rd: number; rcode: number };
    questions: { name: string; type: number }[];
    answers: Record<string, unknown>[];
    authorities: Record<string, unknown>[];
    additionals: Record<string, unknown>[];
  };
  return {
    rcode: p.header.rcode,
    aa: p.header.aa === 1,
    tc: p.header.tc === 1,
    ra: p.header.ra === 1,
    rd: p.header.rd === 1,
    id: p.header.id,
    questions: p.questions,
    answers: p.answers,
    authorities: p.authorities,
    additionals: p.additionals.filter((r) => r.type !== Type.OPT),
  };
}

export interface Rig {
  index: ZoneIndex;
  cache: AnswerCache;
  handler: QueryHandler;
  ask(name: string, type: number, opts?: { tcp?: boolean; udpSize?: number; remote?: string; id?: number }): Decoded;
  /** Internal errors the handler turned into SERVFAIL (a bug if any). */
  errors: string[];
  raw(name: string, type: number, opts?: { tcp?: boolean; udpSize?: number; remote?: string; id?: number }): Buffer;
}

/** An index + handler over the fixture objects, synced unless told otherwise. */
export function rig(opts: { objects?: KubeObject[]; synced?: boolean; pods?: PodMode; ttl?: number; forwarder?: Forwarder; acl?: string[]; rotate?: boolean } = {}): Rig {
  const index = new ZoneIndex(() => 1_700_000_000_000);
  index.replaceAll(slimObjects(opts.objects ?? clusterObjects()));
  if (opts.synced !== false) index.markSynced();
  const cache = new AnswerCache({ rotate: opts.rotate });
  index.onChange(() => cache.clear());
  const errors: string[] = [];
  const log = { error: (o: { err: string; name: string }) => errors.push(`${o.name}: ${o.err}`) } as unknown as Logger;
  const handler = new QueryHandler({
    answerer: new Answerer(index, { zone: 'cluster.local', ttl: opts.ttl ?? 5, pods: opts.pods ?? 'insecure', nameservers: ['10.0.0.10'] }),
    cache,
    acl: new RecursionAcl(opts.acl ?? ['127.0.0.0/8', '10.1.0.0/16']),
    forwarder: opts.forwarder,
    log,
  });
  const raw: Rig['raw'] = (name, type, o = {}) => {
    const q = encodeQuery(o.id ?? 4242, name, type, o.udpSize ? { edns: { udpSize: o.udpSize, version: 0, dnssecOk: false } } : {});
    const res = handler.handle(q, { transport: o.tcp ? 'tcp' : 'udp', remote: o.remote ?? '127.0.0.1' });
    if (res instanceof Promise) throw new Error('unexpected async answer for a zone question');
    if (!res) throw new Error('no response');
    return res;
  };
  return { index, cache, handler, errors, raw, ask: (name, type, o) => decode(raw(name, type, o)) };
}
