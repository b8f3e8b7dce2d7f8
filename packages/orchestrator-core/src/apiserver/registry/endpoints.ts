import { createHash } from 'node:crypto';
import type { EndpointSlice, Endpoints, EndpointSubset, KubeObject, SliceEndpoint } from '@pilot/api';
import { encode } from '../storage/codec.js';
import type { Strategy, StrategyContext, WriteExtras } from './strategy.js';

/**
 * EndpointSlice mirroring: every Endpoints write also writes the matching
 * EndpointSlices (one per subset) in the same transaction, because
 * `kubectl describe svc` and newer consumers read slices only.
 */

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MIRROR_MANAGER = 'endpointslicemirroring-controller.k8s.io';
/** The endpoints controller's trigger time, carried to every slice (the network-programming-latency SLI reads slices). */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** Slice name for subset i: the Endpoints name, then `<name>-<i>` for further subsets. */
export function sliceName(name: string, i: number): string {
  return i === 0 ? name : `${name}-${i}`;
}

/** A stable UID derived from the Endpoints UID, so rewriting a slice keeps its identity. */
function derivedUid(uid: string, i: number): string {
  const h = createHash('sha1').update(`${uid}/${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The EndpointSlices mirroring an Endpoints object (pure). */
export function mirrorSlices(ep: Endpoints): EndpointSlice[] {
  const subsets: EndpointSubset[] = ep.subsets?.length ? ep.subsets : [{}];
  const name = ep.metadata.name!;
  return subsets.map((s, i) => {
    const endpoints: SliceEndpoint[] = [];
    for (const [list, ready] of [
      [s.addresses ?? [], true],
      [s.notReadyAddresses ?? [], false],
    ] as const) {
      for (const a of list) {
        const e: SliceEndpoint = { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false } };
        if (a.hostname) e.hostname = a.hostname;
        if (a.nodeName) e.nodeName = a.nodeName;
        if (a.targetRef) e.targetRef = a.targetRef;
        endpoints.push(e);
      }
    }
    const trigger = ep.metadata.annotations?.[TRIGGER_TIME_ANNOTATION];
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: sliceName(name, i),
        namespace: ep.metadata.namespace!,
        uid: derivedUid(ep.metadata.uid ?? name, i),
        creationTimestamp: ep.metadata.creationTimestamp!,
        generation: 1,
        labels: { ...(ep.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MIRROR_MANAGER },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name, uid: ep.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints,
      // name is always set ("" for an unnamed port), as the mirroring controller does: kubectl describe svc dereferences it.
      ports: (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    };
    if (trigger) slice.metadata.annotations = { [TRIGGER_TIME_ANNOTATION]: trigger };
    return slice;
  });
}

function sliceKeys(ctx: StrategyContext, ep: KubeObject): string[] {
  const n = Math.max(1, (ep as Endpoints).subsets?.length ?? 0);
  return Array.from({ length: n }, (_, i) => ctx.storage.keyFor('endpointslices', ep.metadata.namespace, sliceName(ep.metadata.name!, i)));
}

function writeSlices(ctx: StrategyContext, ep: KubeObject, old?: KubeObject): WriteExtras {
  const slices = mirrorSlices(ep as Endpoints);
  const keep = new Set(slices.map((s) => ctx.storage.keyFor('endpointslices', s.metadata.namespace, s.metadata.name!)));
  const ops: WriteExtras['ops'] = slices.map((s) => ({ put: ctx.storage.keyFor('endpointslices', s.metadata.namespace, s.metadata.name!), value: encode(s) }));
  if (old) for (const k of sliceKeys(ctx, old)) if (!keep.has(k)) ops.push({ del: k });
  return { compares: [], ops };
}

export const endpointsStrategy: Strategy = {
  async createExtras(obj, ctx) {
    return writeSlices(ctx, obj);
  },
  async updateExtras(obj, old, ctx) {
    return writeSlices(ctx, obj, old);
  },
  async deleteExtras(old, ctx) {
    return { compares: [], ops: sliceKeys(ctx, old).map((k) => ({ del: k })) };
  },
};
