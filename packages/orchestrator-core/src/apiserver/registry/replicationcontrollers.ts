import { isObject, type ReplicationController, type Scale } from '@pilot/api';
import { badRequest, invalid } from '../status.js';
import { applyPatch } from './patch.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { statusSubresource, type Subresource, type SubresourceCall, type SubresourceMap } from './subresources.js';

/**
 * An RC's status belongs to the replication controller loop. A v1 RC deleted
 * without a propagation policy orphans its pods (upstream keeps that for
 * backward compatibility; kubectl always sends Background).
 */
export const replicationControllerStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as ReplicationController).status = { replicas: 0 };
  },
  defaultGarbageCollectionPolicy: 'OrphanDependents',
};

/** The autoscaling/v1 Scale view of an RC (pure). */
export function scaleOf(rc: ReplicationController): Scale {
  const selector = Object.entries(rc.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: rc.metadata.name!,
      namespace: rc.metadata.namespace!,
      uid: rc.metadata.uid!,
      resourceVersion: rc.metadata.resourceVersion!,
      creationTimestamp: rc.metadata.creationTimestamp!,
    },
    spec: { replicas: rc.spec?.replicas ?? 0 },
    status: { replicas: rc.status?.replicas ?? 0, selector },
  };
}

/** Writes spec.replicas from a Scale (its resourceVersion, when set, must be the RC's) and records the change. */
async function writeScale(call: SubresourceCall, desired: Scale, wantRv: number | undefined, ctx: StrategyContext): Promise<Scale> {
  const replicas = desired.spec?.replicas;
  if (!Number.isInteger(replicas) || (replicas as number) < 0)
    throw invalid('Scale', call.name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
  let before = 0;
  const updated = await ctx.objects.mutate(call.resource, call.namespace, call.name, wantRv, (cur) => {
    const rc = cur as ReplicationController;
    before = rc.spec?.replicas ?? 0;
    rc.spec = { ...(rc.spec ?? {}), replicas: replicas! };
    return rc;
  });
  if (before !== replicas) await ctx.events.record(updated, 'Normal', 'ScalingReplicationController', `Scaled replication controller ${call.name} from ${before} to ${replicas}`);
  return scaleOf(updated as ReplicationController);
}

const rvOf = (o: unknown): number | undefined =>
  isObject(o) && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' && o.metadata.resourceVersion !== '' ? Number(o.metadata.resourceVersion) : undefined;

/** replicationcontrollers/scale: GET, PUT (kubectl scale sends no Content-Type: JSON) and PATCH of spec.replicas. */
export const scaleSubresource: Subresource = {
  get: async (call, ctx) => scaleOf((await ctx.objects.get(call.resource, call.namespace, call.name)) as ReplicationController),
  update: async (call, body, ctx) => {
    const desired = call.checkFields(body);
    if (!isObject(desired)) throw badRequest('the body must be a Scale object');
    return writeScale(call, desired as unknown as Scale, rvOf(desired), ctx);
  },
  patch: async (call, p, ctx) => {
    const cur = scaleOf((await ctx.objects.get(call.resource, call.namespace, call.name)) as ReplicationController);
    const desired = applyPatch(p.type, cur, p.patch, 'Scale', 'autoscaling/v1') as Scale;
    return writeScale(call, desired, rvOf(p.patch), ctx);
  },
};

export const replicationControllerSubresources: SubresourceMap = { status: statusSubresource, scale: scaleSubresource };
