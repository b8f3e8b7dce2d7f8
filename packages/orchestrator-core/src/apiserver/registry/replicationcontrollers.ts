import type { ReplicationController, Scale } from '@pilot/api';
import { scaleSubresourceFor, scaleView, type ScaleTarget } from './scale.js';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

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

/** An RC's selector is a plain label map: `k=v,k2=v2` in its own order. */
const rcScale: ScaleTarget = {
  selectorOf: (obj) =>
    Object.entries((obj as ReplicationController).spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  scaledEvent: { reason: 'ScalingReplicationController', message: (name, from, to) => `Scaled replication controller ${name} from ${from} to ${to}` },
};

/** The autoscaling/v1 Scale view of an RC (pure). */
export function scaleOf(rc: ReplicationController): Scale {
  return scaleView(rc, rcScale);
}

/** replicationcontrollers/scale: GET, PUT (kubectl scale sends no Content-Type: JSON) and PATCH of spec.replicas. */
export const scaleSubresource = scaleSubresourceFor(rcScale);

export const replicationControllerSubresources: SubresourceMap = { status: statusSubresource, scale: scaleSubresource };
