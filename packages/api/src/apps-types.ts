import type { KubeObject, LabelSelectorSpec, PodTemplateSpec } from './types.js';

/**
 * apps/v1 Deployment, ReplicaSet, DaemonSet, StatefulSet and
 * ControllerRevision, the fields pilot acts on (k8s.io/api apps/v1, v1.32).
 * Other fields (volumeClaimTemplates, persistentVolumeClaimRetentionPolicy)
 * are stored as given.
 */

/** An IntOrString count: an integer or a percentage `N%`. */
export type IntOrString = number | string;

/** Deployment, ReplicaSet, DaemonSet and StatefulSet conditions share this shape (Deployment adds lastUpdateTime). */
export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

// ---------------------------------------------------------------- Deployment

export interface RollingUpdateDeployment {
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
}

export interface DeploymentStrategy {
  type?: 'RollingUpdate' | 'Recreate' | string;
  rollingUpdate?: RollingUpdateDeployment;
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelectorSpec;
  template?: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: WorkloadCondition[];
  collisionCount?: number;
}

export interface Deployment extends KubeObject {
  spec?: DeploymentSpec;
  status?: DeploymentStatus;
}

// ---------------------------------------------------------------- ReplicaSet

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector?: LabelSelectorSpec;
  template?: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: WorkloadCondition[];
}

export interface ReplicaSet extends KubeObject {
  spec?: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

// ---------------------------------------------------------------- DaemonSet

export interface RollingUpdateDaemonSet {
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
}

export interface DaemonSetUpdateStrategy {
  type?: 'RollingUpdate' | 'OnDelete' | string;
  rollingUpdate?: RollingUpdateDaemonSet;
}

export interface DaemonSetSpec {
  selector?: LabelSelectorSpec;
  template?: PodTemplateSpec;
  updateStrategy?: DaemonSetUpdateStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
}

export interface DaemonSet extends KubeObject {
  spec?: DaemonSetSpec;
  status?: DaemonSetStatus;
}

// ---------------------------------------------------------------- StatefulSet

export interface RollingUpdateStatefulSetStrategy {
  partition?: number;
  maxUnavailable?: IntOrString;
}

export interface StatefulSetUpdateStrategy {
  type?: 'RollingUpdate' | 'OnDelete' | string;
  rollingUpdate?: RollingUpdateStatefulSetStrategy;
}

export interface StatefulSetSpec {
  replicas?: number;
  selector?: LabelSelectorSpec;
  template?: PodTemplateSpec;
  /** Stored as given: pilot has no volumes to claim (README). */
  volumeClaimTemplates?: unknown[];
  serviceName?: string;
  podManagementPolicy?: 'OrderedReady' | 'Parallel' | string;
  updateStrategy?: StatefulSetUpdateStrategy;
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
  ordinals?: { start?: number };
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
  availableReplicas?: number;
}

export interface StatefulSet extends KubeObject {
  spec?: StatefulSetSpec;
  status?: StatefulSetStatus;
}

// ---------------------------------------------------------------- ControllerRevision

/** A snapshot of a DaemonSet's or StatefulSet's template; immutable but for metadata. */
export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision: number;
}

// ---------------------------------------------------------------- well-known labels and annotations

/** DefaultDeploymentUniqueLabelKey: on a Deployment's ReplicaSets (selector, template) and their pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** On a Deployment and its ReplicaSets: the rollout revision. */
export const DEPLOYMENT_REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DEPLOYMENT_REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DEPLOYMENT_DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const DEPLOYMENT_MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** What `kubectl rollout history` prints. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
/** ControllerRevisionHashLabelKey: on DaemonSet and StatefulSet pods (and their ControllerRevisions). */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** On a StatefulSet's pods: the pod's own name, and its ordinal. */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const STATEFULSET_POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** On a DaemonSet's pods: the DaemonSet generation they were made from. */
export const DAEMONSET_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
