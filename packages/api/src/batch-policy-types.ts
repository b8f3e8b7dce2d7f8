import type { KubeObject, LabelSelectorSpec, ObjectMeta, PodTemplateSpec, DeleteOptions } from './types.js';

/**
 * batch/v1 Job and policy/v1 PodDisruptionBudget / Eviction, the fields
 * pilot acts on (k8s.io/api batch/v1 and policy/v1, v1.32). Other fields are
 * stored as given.
 */

export interface JobCondition {
  type: 'Complete' | 'Failed' | 'Suspended' | 'FailureTarget' | 'SuccessCriteriaMet' | string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface JobSpec {
  parallelism?: number;
  completions?: number | null;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  selector?: LabelSelectorSpec;
  manualSelector?: boolean;
  template: PodTemplateSpec;
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed' | string;
  suspend?: boolean;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  terminating?: number;
}

export interface Job extends KubeObject {
  spec?: JobSpec;
  status?: JobStatus;
}

/** Labels the apiserver puts on a Job's template (and the generated selector), as upstream's job strategy does. */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** The legacy names, still written by 1.32 beside the prefixed ones. */
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

export interface PodDisruptionBudgetSpec {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  selector?: LabelSelectorSpec | null;
  unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow' | string;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pod name → the time its eviction was admitted, until the controller sees the pod go. */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number }[];
}

export interface PodDisruptionBudget extends KubeObject {
  spec?: PodDisruptionBudgetSpec;
  status?: PodDisruptionBudgetStatus;
}

export interface Eviction {
  kind?: 'Eviction';
  apiVersion?: string;
  metadata?: ObjectMeta;
  deleteOptions?: DeleteOptions;
}
