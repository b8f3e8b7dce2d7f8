import { bool, free, int32, int64, intOrString, mergedList, ref, str, time, type FieldSchema, type StructSchema } from './schema.js';

/**
 * apps/v1 Deployment, ReplicaSet, DaemonSet, StatefulSet and
 * ControllerRevision as schema data (k8s.io/api apps/v1, v1.32), with the
 * merge keys strategic merge patch needs (`kubectl apply` of a Deployment
 * merges its template's containers by name through core/v1 PodSpec, its
 * conditions by type). What pilot does not act on (volumeClaimTemplates,
 * ControllerRevision data) is `free`: kept as given. Spread into DEFINITIONS
 * (definitions.ts).
 */

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';

const typeMeta = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
};
const metadata = (): FieldSchema => ref(`${META}.ObjectMeta`, "Standard object's metadata.");
const selector = (description?: string): FieldSchema => ref(`${META}.LabelSelector`, description);
const template = (): FieldSchema => ref(`${CORE}.PodTemplateSpec`);

const condition = (extra: Record<string, FieldSchema> = {}): StructSchema => ({
  properties: { type: str(), status: str(), lastTransitionTime: time(), reason: str(), message: str(), ...extra },
  required: ['type', 'status'],
});
const conditions = (def: string): FieldSchema => mergedList(ref(`${APPS}.${def}`), 'type');

const kindOf = (kind: string): StructSchema => ({
  gvk: { group: 'apps', version: 'v1', kind },
  properties: { ...typeMeta, metadata: metadata(), spec: ref(`${APPS}.${kind}Spec`), status: ref(`${APPS}.${kind}Status`) },
});

export const APPS_DEFINITIONS: Readonly<Record<string, StructSchema>> = {
  [`${APPS}.Deployment`]: kindOf('Deployment'),
  [`${APPS}.DeploymentSpec`]: {
    properties: {
      replicas: int32('Number of desired pods. Defaults to 1.'),
      selector: selector('Label selector for pods. It must match the pod template\'s labels.'),
      template: template(),
      strategy: ref(`${APPS}.DeploymentStrategy`),
      minReadySeconds: int32(),
      revisionHistoryLimit: int32('The number of old ReplicaSets to retain to allow rollback. Defaults to 10.'),
      paused: bool('Indicates that the deployment is paused.'),
      progressDeadlineSeconds: int32('The maximum time in seconds for a deployment to make progress before it is considered to be failed. Defaults to 600s.'),
    },
    required: ['selector', 'template'],
  },
  [`${APPS}.DeploymentStrategy`]: {
    properties: { type: str('Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.', ['Recreate', 'RollingUpdate']), rollingUpdate: ref(`${APPS}.RollingUpdateDeployment`) },
  },
  [`${APPS}.RollingUpdateDeployment`]: { properties: { maxUnavailable: intOrString(), maxSurge: intOrString() } },
  [`${APPS}.DeploymentStatus`]: {
    properties: {
      observedGeneration: int64(),
      replicas: int32(),
      updatedReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      unavailableReplicas: int32(),
      conditions: conditions('DeploymentCondition'),
      collisionCount: int32(),
    },
  },
  [`${APPS}.DeploymentCondition`]: condition({ lastUpdateTime: time() }),

  [`${APPS}.ReplicaSet`]: kindOf('ReplicaSet'),
  [`${APPS}.ReplicaSetSpec`]: {
    properties: { replicas: int32(), minReadySeconds: int32(), selector: selector(), template: template() },
    required: ['selector'],
  },
  [`${APPS}.ReplicaSetStatus`]: {
    properties: {
      replicas: int32(),
      fullyLabeledReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      observedGeneration: int64(),
      conditions: conditions('ReplicaSetCondition'),
    },
    required: ['replicas'],
  },
  [`${APPS}.ReplicaSetCondition`]: condition(),

  [`${APPS}.DaemonSet`]: kindOf('DaemonSet'),
  [`${APPS}.DaemonSetSpec`]: {
    properties: {
      selector: selector(),
      template: template(),
      updateStrategy: ref(`${APPS}.DaemonSetUpdateStrategy`),
      minReadySeconds: int32(),
      revisionHistoryLimit: int32(),
    },
    required: ['selector', 'template'],
  },
  [`${APPS}.DaemonSetUpdateStrategy`]: {
    properties: { type: str(undefined, ['OnDelete', 'RollingUpdate']), rollingUpdate: ref(`${APPS}.RollingUpdateDaemonSet`) },
  },
  [`${APPS}.RollingUpdateDaemonSet`]: { properties: { maxUnavailable: intOrString(), maxSurge: intOrString() } },
  [`${APPS}.DaemonSetStatus`]: {
    properties: {
      currentNumberScheduled: int32(),
      numberMisscheduled: int32(),
      desiredNumberScheduled: int32(),
      numberReady: int32(),
      observedGeneration: int64(),
      updatedNumberScheduled: int32(),
      numberAvailable: int32(),
      numberUnavailable: int32(),
      collisionCount: int32(),
      conditions: conditions('DaemonSetCondition'),
    },
    required: ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'],
  },
  [`${APPS}.DaemonSetCondition`]: condition(),

  [`${APPS}.StatefulSet`]: kindOf('StatefulSet'),
  [`${APPS}.StatefulSetSpec`]: {
    properties: {
      replicas: int32(),
      selector: selector(),
      template: template(),
      volumeClaimTemplates: { type: 'array', items: free(), listType: 'atomic' },
      serviceName: str(),
      podManagementPolicy: str(undefined, ['OrderedReady', 'Parallel']),
      updateStrategy: ref(`${APPS}.StatefulSetUpdateStrategy`),
      revisionHistoryLimit: int32(),
      minReadySeconds: int32(),
      persistentVolumeClaimRetentionPolicy: ref(`${APPS}.StatefulSetPersistentVolumeClaimRetentionPolicy`),
      ordinals: ref(`${APPS}.StatefulSetOrdinals`),
    },
    required: ['selector', 'template'],
  },
  [`${APPS}.StatefulSetUpdateStrategy`]: {
    properties: { type: str(undefined, ['OnDelete', 'RollingUpdate']), rollingUpdate: ref(`${APPS}.RollingUpdateStatefulSetStrategy`) },
  },
  [`${APPS}.RollingUpdateStatefulSetStrategy`]: { properties: { partition: int32(), maxUnavailable: intOrString() } },
  [`${APPS}.StatefulSetPersistentVolumeClaimRetentionPolicy`]: { properties: { whenDeleted: str(), whenScaled: str() } },
  [`${APPS}.StatefulSetOrdinals`]: { properties: { start: int32() } },
  [`${APPS}.StatefulSetStatus`]: {
    properties: {
      observedGeneration: int64(),
      replicas: int32(),
      readyReplicas: int32(),
      currentReplicas: int32(),
      updatedReplicas: int32(),
      currentRevision: str(),
      updateRevision: str(),
      collisionCount: int32(),
      conditions: conditions('StatefulSetCondition'),
      availableReplicas: int32(),
    },
    required: ['replicas'],
  },
  [`${APPS}.StatefulSetCondition`]: condition(),

  [`${APPS}.ControllerRevision`]: {
    gvk: { group: 'apps', version: 'v1', kind: 'ControllerRevision' },
    properties: { ...typeMeta, metadata: metadata(), data: free('Data is the serialized representation of the state.'), revision: int64('Revision indicates the revision of the state represented by Data.') },
    required: ['revision'],
  },
};
