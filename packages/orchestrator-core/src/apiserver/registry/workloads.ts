import { labelSelectorFromObject, type DaemonSet, type Deployment, type KubeObject, type LabelSelectorSpec, type ReplicaSet, type StatefulSet } from '@pilot/api';
import { scaleSubresourceFor, type ScaleTarget } from './scale.js';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * apps/v1 Deployment, ReplicaSet, DaemonSet and StatefulSet (upstream
 * pkg/registry/apps/<kind>/strategy.go): the status is the controller's, so
 * a create starts from an empty one and the main resource's writes keep the
 * stored one (generic-registry.ts); the selector's immutability and the
 * defaults are validation.ts's. apps/v1 deletes dependents by default
 * (DeleteDependents), unlike v1 RCs and batch/v1 Jobs. ControllerRevision
 * has no strategy: it is stored as given.
 */

export const deploymentStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as Deployment).status = {};
  },
};

export const replicaSetStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as ReplicaSet).status = { replicas: 0 };
  },
};

export const daemonSetStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as DaemonSet).status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
};

export const statefulSetStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as StatefulSet).status = { replicas: 0, availableReplicas: 0 };
  },
};

/** The apps/v1 Scale's status.selector: the LabelSelector's string form (LabelSelectorAsSelector(...).String()). */
const appsScale: ScaleTarget = {
  selectorOf: (obj: KubeObject) => {
    try {
      return labelSelectorFromObject((obj as { spec?: { selector?: LabelSelectorSpec } }).spec?.selector).toString();
    } catch {
      return '';
    }
  },
};

const appsScaleSubresource = scaleSubresourceFor(appsScale);

export const deploymentSubresources: SubresourceMap = { status: statusSubresource, scale: appsScaleSubresource };
export const replicaSetSubresources: SubresourceMap = { status: statusSubresource, scale: appsScaleSubresource };
export const daemonSetSubresources: SubresourceMap = { status: statusSubresource };
export const statefulSetSubresources: SubresourceMap = { status: statusSubresource, scale: appsScaleSubresource };
