import { isObject, type KubeObject, type Scale } from '@pilot/api';
import { badRequest, invalid } from '../status.js';
import { applyPatch } from './patch.js';
import type { StrategyContext } from './strategy.js';
import type { Subresource, SubresourceCall } from './subresources.js';

/**
 * `<resource>/scale` (kube-apiserver's ScaleREST): an autoscaling/v1 Scale
 * view of an object's spec.replicas. What differs between the scalable kinds
 * (RC, Deployment, ReplicaSet, StatefulSet) is how the selector prints and
 * whether the apiserver records the change as an event; the verbs are one.
 */
export interface ScaleTarget {
  /** status.selector: the object's selector in its string form. */
  selectorOf(obj: KubeObject): string;
  /** An event the apiserver records about a change of replicas (the RC's `ScalingReplicationController`), if any. */
  scaledEvent?: { reason: string; message(name: string, from: number, to: number): string };
}

interface Scalable extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number };
}

/** The autoscaling/v1 Scale view of an object (pure). */
export function scaleView(obj: KubeObject, target: ScaleTarget): Scale {
  const o = obj as Scalable;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name!,
      namespace: o.metadata.namespace!,
      uid: o.metadata.uid!,
      resourceVersion: o.metadata.resourceVersion!,
      creationTimestamp: o.metadata.creationTimestamp!,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector: target.selectorOf(o) },
  };
}

/** Writes spec.replicas from a Scale (its resourceVersion, when set, must be the object's) and records the change. */
async function writeScale(call: SubresourceCall, desired: Scale, wantRv: number | undefined, ctx: StrategyContext, target: ScaleTarget): Promise<Scale> {
  const replicas = desired.spec?.replicas;
  if (!Number.isInteger(replicas) || (replicas as number) < 0)
    throw invalid('Scale', call.name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
  let before = 0;
  const updated = await ctx.objects.mutate(call.resource, call.namespace, call.name, wantRv, (cur) => {
    const o = cur as Scalable;
    before = o.spec?.replicas ?? 0;
    o.spec = { ...(o.spec ?? {}), replicas: replicas! };
    return o;
  });
  if (before !== replicas && target.scaledEvent) await ctx.events.record(updated, 'Normal', target.scaledEvent.reason, target.scaledEvent.message(call.name, before, replicas!));
  return scaleView(updated, target);
}

const rvOf = (o: unknown): number | undefined =>
  isObject(o) && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' && o.metadata.resourceVersion !== '' ? Number(o.metadata.resourceVersion) : undefined;

/** GET, PUT (kubectl scale sends no Content-Type: JSON) and PATCH of spec.replicas through a Scale. */
export function scaleSubresourceFor(target: ScaleTarget): Subresource {
  return {
    get: async (call, ctx) => scaleView(await ctx.objects.get(call.resource, call.namespace, call.name), target),
    update: async (call, body, ctx) => {
      const desired = call.checkFields(body);
      if (!isObject(desired)) throw badRequest('the body must be a Scale object');
      return writeScale(call, desired as unknown as Scale, rvOf(desired), ctx, target);
    },
    patch: async (call, p, ctx) => {
      const cur = scaleView(await ctx.objects.get(call.resource, call.namespace, call.name), target);
      const desired = applyPatch(p.type, cur, p.patch, 'Scale', 'autoscaling/v1') as Scale;
      return writeScale(call, desired, rvOf(p.patch), ctx, target);
    },
  };
}
