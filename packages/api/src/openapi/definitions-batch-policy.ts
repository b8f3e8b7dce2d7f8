import { bool, free, int32, int64, intOrString, mapOf, mergedList, ref, str, time, type FieldSchema, type StructSchema } from './schema.js';

/**
 * batch/v1 Job and policy/v1 PodDisruptionBudget and Eviction as schema data
 * (k8s.io/api batch/v1 and policy/v1, v1.32). What pilot does not act on
 * (podFailurePolicy, successPolicy) is `free`: kept as given. Spread into
 * DEFINITIONS (definitions.ts).
 */

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const BATCH = 'io.k8s.api.batch.v1';
const POLICY = 'io.k8s.api.policy.v1';

const typeMeta = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
};
const metadata = (): FieldSchema => ref(`${META}.ObjectMeta`, "Standard object's metadata.");
const selector = (): FieldSchema => ref(`${META}.LabelSelector`);

const condition = (extra: Record<string, FieldSchema> = {}): StructSchema => ({
  properties: { type: str(), status: str(), lastTransitionTime: time(), reason: str(), message: str(), ...extra },
  required: ['type', 'status'],
});

export const BATCH_POLICY_DEFINITIONS: Readonly<Record<string, StructSchema>> = {
  [`${BATCH}.Job`]: {
    gvk: { group: 'batch', version: 'v1', kind: 'Job' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(`${BATCH}.JobSpec`), status: ref(`${BATCH}.JobStatus`) },
  },
  [`${BATCH}.JobSpec`]: {
    properties: {
      parallelism: int32('Specifies the maximum desired number of pods the job should run at any given time.'),
      completions: int32('Specifies the desired number of successfully finished pods the job should be run with.'),
      activeDeadlineSeconds: int64(),
      podFailurePolicy: free(),
      successPolicy: free(),
      backoffLimit: int32('Specifies the number of retries before marking this job failed. Defaults to 6'),
      backoffLimitPerIndex: int32(),
      maxFailedIndexes: int32(),
      selector: selector(),
      manualSelector: bool(),
      template: ref(`${CORE}.PodTemplateSpec`),
      ttlSecondsAfterFinished: int32(),
      completionMode: str(undefined, ['Indexed', 'NonIndexed']),
      suspend: bool(),
      podReplacementPolicy: str(undefined, ['Failed', 'TerminatingOrFailed']),
      managedBy: str(),
    },
    required: ['template'],
  },
  [`${BATCH}.JobStatus`]: {
    properties: {
      conditions: { ...mergedList(ref(`${BATCH}.JobCondition`), 'type'), listType: 'atomic' },
      startTime: time(),
      completionTime: time(),
      active: int32(),
      succeeded: int32(),
      failed: int32(),
      terminating: int32(),
      completedIndexes: str(),
      failedIndexes: str(),
      uncountedTerminatedPods: free(),
      ready: int32(),
    },
  },
  [`${BATCH}.JobCondition`]: condition({ lastProbeTime: time() }),

  [`${POLICY}.PodDisruptionBudget`]: {
    gvk: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(`${POLICY}.PodDisruptionBudgetSpec`), status: ref(`${POLICY}.PodDisruptionBudgetStatus`) },
  },
  [`${POLICY}.PodDisruptionBudgetSpec`]: {
    properties: {
      minAvailable: intOrString('An eviction is allowed if at least "minAvailable" pods selected by "selector" will still be available after the eviction.'),
      selector: selector(),
      maxUnavailable: intOrString('An eviction is allowed if at most "maxUnavailable" pods selected by "selector" are unavailable after the eviction.'),
      unhealthyPodEvictionPolicy: str(undefined, ['AlwaysAllow', 'IfHealthyBudget']),
    },
  },
  [`${POLICY}.PodDisruptionBudgetStatus`]: {
    properties: {
      observedGeneration: int64(),
      disruptedPods: mapOf(time()),
      disruptionsAllowed: int32(),
      currentHealthy: int32(),
      desiredHealthy: int32(),
      expectedPods: int32(),
      conditions: { ...mergedList(ref(`${POLICY}.PodDisruptionBudgetCondition`), 'type'), listType: 'map', listMapKeys: ['type'] },
    },
    required: ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'],
  },
  [`${POLICY}.PodDisruptionBudgetCondition`]: condition({ observedGeneration: int64() }),
  [`${POLICY}.Eviction`]: {
    gvk: { group: 'policy', version: 'v1', kind: 'Eviction' },
    // DeleteOptions is free here: its schema is one of the document's fixed meta schemas, outside this table.
    properties: { ...typeMeta, metadata: metadata(), deleteOptions: free('DeleteOptions may be provided') },
  },
};
