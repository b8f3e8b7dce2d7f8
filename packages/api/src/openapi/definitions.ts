/**
 * The served types as schema data, named as Kubernetes names them in its
 * OpenAPI documents (`io.k8s.api.core.v1.Pod`). Merge keys and patch
 * strategies follow the struct tags of k8s.io/api (core/v1/types.go etc.);
 * the field lists follow v1.32. Parts pilot does not act on (securityContext,
 * affinity, lifecycle, most volume sources) are `free`: accepted and stored
 * as given, never reported as unknown.
 */
import {
  atomicList,
  bool,
  byteStr,
  free,
  int32,
  int64,
  intOrString,
  mapOf,
  mergedList,
  mergedSet,
  microTime,
  quantity,
  ref,
  str,
  time,
  type FieldSchema,
  type StructSchema,
} from './schema.js';
import { APPS_DEFINITIONS } from './definitions-apps.js';
import { BATCH_POLICY_DEFINITIONS } from './definitions-batch-policy.js';
import { RBAC_DEFINITIONS } from './definitions-rbac.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const DISCOVERY = 'io.k8s.api.discovery.v1';
const COORDINATION = 'io.k8s.api.coordination.v1';
const AUTOSCALING = 'io.k8s.api.autoscaling.v1';

export const DEF = {
  ObjectMeta: `${META}.ObjectMeta`,
  OwnerReference: `${META}.OwnerReference`,
  ManagedFieldsEntry: `${META}.ManagedFieldsEntry`,
  ListMeta: `${META}.ListMeta`,
  LabelSelector: `${META}.LabelSelector`,
  Pod: `${CORE}.Pod`,
  PodSpec: `${CORE}.PodSpec`,
  PodStatus: `${CORE}.PodStatus`,
  PodTemplateSpec: `${CORE}.PodTemplateSpec`,
  Container: `${CORE}.Container`,
  Service: `${CORE}.Service`,
  Endpoints: `${CORE}.Endpoints`,
  ReplicationController: `${CORE}.ReplicationController`,
  Node: `${CORE}.Node`,
  Namespace: `${CORE}.Namespace`,
  ConfigMap: `${CORE}.ConfigMap`,
  Secret: `${CORE}.Secret`,
  ServiceAccount: `${CORE}.ServiceAccount`,
  Event: `${CORE}.Event`,
  Binding: `${CORE}.Binding`,
  EndpointSlice: `${DISCOVERY}.EndpointSlice`,
  Lease: `${COORDINATION}.Lease`,
  Scale: `${AUTOSCALING}.Scale`,
} as const;

const c = (name: string): string => `${CORE}.${name}`;
const d = (name: string): string => `${DISCOVERY}.${name}`;

const metadata = (): FieldSchema => ref(DEF.ObjectMeta, "Standard object's metadata.");
const typeMeta = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
};
const strings = (): FieldSchema => atomicList(str());
const labels = (description?: string): FieldSchema => mapOf(str(), description);

/** Every volume source of core/v1 Volume; pilot models a few, keeps the rest. */
const VOLUME_SOURCES = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'csi', 'downwardAPI', 'ephemeral', 'fc',
  'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'image', 'iscsi', 'nfs', 'persistentVolumeClaim',
  'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO', 'storageos', 'vsphereVolume',
];

const condition = (extra: Record<string, FieldSchema> = {}): StructSchema => ({
  properties: {
    type: str('Type of condition.'),
    status: str('Status of the condition, one of True, False, Unknown.'),
    lastTransitionTime: time(),
    reason: str(),
    message: str(),
    ...extra,
  },
  required: ['type', 'status'],
});

const probe = (): StructSchema => ({
  properties: {
    exec: ref(c('ExecAction')),
    httpGet: ref(c('HTTPGetAction')),
    tcpSocket: ref(c('TCPSocketAction')),
    grpc: free(),
    initialDelaySeconds: int32(),
    timeoutSeconds: int32(),
    periodSeconds: int32(),
    successThreshold: int32(),
    failureThreshold: int32(),
    terminationGracePeriodSeconds: int64(),
  },
});

const keySelector = (nameField: string): StructSchema => ({
  properties: { [nameField]: str(), key: str(), optional: bool() },
  required: ['key'],
});

export const DEFINITIONS: Readonly<Record<string, StructSchema>> = {
  // ------------------------------------------------------------ meta/v1
  [DEF.ObjectMeta]: {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    properties: {
      name: str('Name must be unique within a namespace.'),
      generateName: str(),
      namespace: str(),
      selfLink: str(),
      uid: str(),
      resourceVersion: str(),
      generation: int64(),
      creationTimestamp: time(),
      deletionTimestamp: time(),
      deletionGracePeriodSeconds: int64(),
      labels: labels('Map of string keys and values that can be used to organize and categorize objects.'),
      annotations: labels('Annotations is an unstructured key value map stored with a resource.'),
      ownerReferences: mergedList(ref(DEF.OwnerReference), 'uid'),
      finalizers: mergedSet(str()),
      managedFields: atomicList(ref(DEF.ManagedFieldsEntry)),
    },
  },
  [DEF.OwnerReference]: {
    properties: {
      apiVersion: str(),
      kind: str(),
      name: str(),
      uid: str(),
      controller: bool(),
      blockOwnerDeletion: bool(),
    },
    required: ['apiVersion', 'kind', 'name', 'uid'],
  },
  [DEF.ManagedFieldsEntry]: {
    properties: {
      manager: str(),
      operation: str(),
      apiVersion: str(),
      time: time(),
      fieldsType: str(),
      fieldsV1: free(),
      subresource: str(),
    },
  },
  [DEF.ListMeta]: {
    properties: { resourceVersion: str(), continue: str(), remainingItemCount: int64(), selfLink: str() },
  },
  [DEF.LabelSelector]: {
    properties: {
      matchLabels: labels(),
      matchExpressions: atomicList(free()),
    },
  },

  // ------------------------------------------------------------ core/v1 Pod
  [DEF.Pod]: {
    description: 'Pod is a collection of containers that can run on a host.',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(DEF.PodSpec), status: ref(DEF.PodStatus) },
  },
  [DEF.PodSpec]: {
    description: 'PodSpec is a description of a pod.',
    properties: {
      volumes: mergedList(ref(c('Volume')), 'name', { retainKeys: true }),
      initContainers: mergedList(ref(DEF.Container), 'name'),
      containers: mergedList(ref(DEF.Container), 'name', { description: 'List of containers belonging to the pod.' }),
      ephemeralContainers: mergedList(free(), 'name'),
      restartPolicy: str(undefined, ['Always', 'OnFailure', 'Never']),
      terminationGracePeriodSeconds: int64(),
      activeDeadlineSeconds: int64(),
      dnsPolicy: str(undefined, ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']),
      nodeSelector: labels(),
      serviceAccountName: str(),
      serviceAccount: str(),
      automountServiceAccountToken: bool(),
      nodeName: str(),
      hostNetwork: bool(),
      hostPID: bool(),
      hostIPC: bool(),
      shareProcessNamespace: bool(),
      securityContext: free(),
      imagePullSecrets: mergedList(ref(c('LocalObjectReference')), 'name'),
      hostname: str(),
      subdomain: str(),
      affinity: free(),
      schedulerName: str(),
      tolerations: atomicList(ref(c('Toleration'))),
      hostAliases: mergedList(ref(c('HostAlias')), 'ip'),
      priorityClassName: str(),
      priority: int32(),
      dnsConfig: ref(c('PodDNSConfig')),
      readinessGates: atomicList(ref(c('PodReadinessGate'))),
      runtimeClassName: str(),
      enableServiceLinks: bool(),
      preemptionPolicy: str(),
      overhead: mapOf(quantity()),
      topologySpreadConstraints: mergedList(free(), 'topologyKey', { listMapKeys: ['topologyKey', 'whenUnsatisfiable'] }),
      setHostnameAsFQDN: bool(),
      os: free(),
      hostUsers: bool(),
      schedulingGates: mergedList(free(), 'name'),
      resourceClaims: mergedList(free(), 'name', { retainKeys: true }),
      resources: ref(c('ResourceRequirements')),
    },
    required: ['containers'],
  },
  [DEF.Container]: {
    description: 'A single application container that you want to run within a pod.',
    properties: {
      name: str('Name of the container specified as a DNS_LABEL.'),
      image: str('Container image name.'),
      command: strings(),
      args: strings(),
      workingDir: str(),
      ports: mergedList(ref(c('ContainerPort')), 'containerPort', { listMapKeys: ['containerPort', 'protocol'] }),
      envFrom: atomicList(free()),
      env: mergedList(ref(c('EnvVar')), 'name'),
      resources: ref(c('ResourceRequirements')),
      resizePolicy: atomicList(free()),
      restartPolicy: str(),
      volumeMounts: mergedList(ref(c('VolumeMount')), 'mountPath'),
      volumeDevices: mergedList(free(), 'devicePath'),
      livenessProbe: ref(c('Probe')),
      readinessProbe: ref(c('Probe')),
      startupProbe: ref(c('Probe')),
      lifecycle: free(),
      terminationMessagePath: str(),
      terminationMessagePolicy: str(),
      imagePullPolicy: str(undefined, ['Always', 'IfNotPresent', 'Never']),
      securityContext: free(),
      stdin: bool(),
      stdinOnce: bool(),
      tty: bool(),
    },
    required: ['name'],
  },
  [c('ContainerPort')]: {
    properties: { name: str(), hostPort: int32(), containerPort: int32(), protocol: str(), hostIP: str() },
    required: ['containerPort'],
  },
  [c('EnvVar')]: {
    properties: { name: str(), value: str(), valueFrom: ref(c('EnvVarSource')) },
    required: ['name'],
  },
  [c('EnvVarSource')]: {
    properties: {
      fieldRef: ref(c('ObjectFieldSelector')),
      resourceFieldRef: ref(c('ResourceFieldSelector')),
      configMapKeyRef: ref(c('ConfigMapKeySelector')),
      secretKeyRef: ref(c('SecretKeySelector')),
    },
  },
  [c('ObjectFieldSelector')]: { properties: { apiVersion: str(), fieldPath: str() }, required: ['fieldPath'] },
  [c('ResourceFieldSelector')]: {
    properties: { containerName: str(), resource: str(), divisor: quantity() },
    required: ['resource'],
  },
  [c('ConfigMapKeySelector')]: keySelector('name'),
  [c('SecretKeySelector')]: keySelector('name'),
  [c('ResourceRequirements')]: {
    properties: { limits: mapOf(quantity()), requests: mapOf(quantity()), claims: mergedList(free(), 'name') },
  },
  [c('VolumeMount')]: {
    properties: {
      name: str(),
      readOnly: bool(),
      recursiveReadOnly: str(),
      mountPath: str(),
      subPath: str(),
      mountPropagation: str(),
      subPathExpr: str(),
    },
    required: ['name', 'mountPath'],
  },
  [c('Probe')]: probe(),
  [c('ExecAction')]: { properties: { command: strings() } },
  [c('HTTPGetAction')]: {
    properties: {
      path: str(),
      port: intOrString(),
      host: str(),
      scheme: str(),
      httpHeaders: atomicList(ref(c('HTTPHeader'))),
    },
    required: ['port'],
  },
  [c('HTTPHeader')]: { properties: { name: str(), value: str() }, required: ['name', 'value'] },
  [c('TCPSocketAction')]: { properties: { port: intOrString(), host: str() }, required: ['port'] },
  [c('Volume')]: {
    properties: {
      name: str(),
      emptyDir: ref(c('EmptyDirVolumeSource')),
      hostPath: ref(c('HostPathVolumeSource')),
      configMap: free(),
      secret: free(),
      ...Object.fromEntries(VOLUME_SOURCES.map((s) => [s, free()])),
    },
    required: ['name'],
  },
  [c('EmptyDirVolumeSource')]: { properties: { medium: str(), sizeLimit: quantity() } },
  [c('HostPathVolumeSource')]: { properties: { path: str(), type: str() }, required: ['path'] },
  [c('LocalObjectReference')]: { properties: { name: str() } },
  [c('Toleration')]: {
    properties: { key: str(), operator: str(), value: str(), effect: str(), tolerationSeconds: int64() },
  },
  [c('HostAlias')]: { properties: { ip: str(), hostnames: strings() }, required: ['ip'] },
  [c('PodDNSConfig')]: {
    properties: { nameservers: strings(), searches: strings(), options: atomicList(ref(c('PodDNSConfigOption'))) },
  },
  [c('PodDNSConfigOption')]: { properties: { name: str(), value: str() } },
  [c('PodReadinessGate')]: { properties: { conditionType: str() }, required: ['conditionType'] },
  [DEF.PodStatus]: {
    properties: {
      observedGeneration: int64(),
      phase: str(undefined, ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']),
      conditions: mergedList(ref(c('PodCondition')), 'type'),
      message: str(),
      reason: str(),
      nominatedNodeName: str(),
      hostIP: str(),
      hostIPs: mergedList(ref(c('HostIP')), 'ip'),
      podIP: str(),
      podIPs: mergedList(ref(c('PodIP')), 'ip'),
      startTime: time(),
      initContainerStatuses: atomicList(ref(c('ContainerStatus'))),
      containerStatuses: atomicList(ref(c('ContainerStatus'))),
      qosClass: str(),
      ephemeralContainerStatuses: atomicList(ref(c('ContainerStatus'))),
      resize: str(),
      resourceClaimStatuses: mergedList(free(), 'name', { retainKeys: true }),
    },
  },
  [c('PodCondition')]: condition({ lastProbeTime: time() }),
  [c('HostIP')]: { properties: { ip: str() } },
  [c('PodIP')]: { properties: { ip: str() } },
  [c('ContainerStatus')]: {
    properties: {
      name: str(),
      state: ref(c('ContainerState')),
      lastState: ref(c('ContainerState')),
      ready: bool(),
      restartCount: int32(),
      image: str(),
      imageID: str(),
      containerID: str(),
      started: bool(),
      allocatedResources: mapOf(quantity()),
      resources: ref(c('ResourceRequirements')),
      volumeMounts: atomicList(free()),
      user: free(),
      allocatedResourcesStatus: atomicList(free()),
    },
    required: ['name', 'ready', 'restartCount', 'image', 'imageID'],
  },
  [c('ContainerState')]: {
    properties: {
      waiting: ref(c('ContainerStateWaiting')),
      running: ref(c('ContainerStateRunning')),
      terminated: ref(c('ContainerStateTerminated')),
    },
  },
  [c('ContainerStateWaiting')]: { properties: { reason: str(), message: str() } },
  [c('ContainerStateRunning')]: { properties: { startedAt: time() } },
  [c('ContainerStateTerminated')]: {
    properties: {
      exitCode: int32(),
      signal: int32(),
      reason: str(),
      message: str(),
      startedAt: time(),
      finishedAt: time(),
      containerID: str(),
    },
    required: ['exitCode'],
  },
  [DEF.PodTemplateSpec]: {
    properties: { metadata: metadata(), spec: ref(DEF.PodSpec) },
  },
  [DEF.Binding]: {
    gvk: { group: '', version: 'v1', kind: 'Binding' },
    properties: { ...typeMeta, metadata: metadata(), target: ref(c('ObjectReference')) },
    required: ['target'],
  },
  [c('ObjectReference')]: {
    properties: {
      kind: str(),
      namespace: str(),
      name: str(),
      uid: str(),
      apiVersion: str(),
      resourceVersion: str(),
      fieldPath: str(),
    },
  },

  // ------------------------------------------------------------ core/v1 Service
  [DEF.Service]: {
    gvk: { group: '', version: 'v1', kind: 'Service' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(c('ServiceSpec')), status: ref(c('ServiceStatus')) },
  },
  [c('ServiceSpec')]: {
    properties: {
      ports: mergedList(ref(c('ServicePort')), 'port', { listMapKeys: ['port', 'protocol'] }),
      selector: labels(),
      clusterIP: str(),
      clusterIPs: atomicList(str()),
      type: str(undefined, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']),
      externalIPs: strings(),
      sessionAffinity: str(undefined, ['ClientIP', 'None']),
      loadBalancerIP: str(),
      loadBalancerSourceRanges: strings(),
      externalName: str(),
      externalTrafficPolicy: str(),
      healthCheckNodePort: int32(),
      publishNotReadyAddresses: bool(),
      sessionAffinityConfig: free(),
      ipFamilies: atomicList(str()),
      ipFamilyPolicy: str(),
      allocateLoadBalancerNodePorts: bool(),
      loadBalancerClass: str(),
      internalTrafficPolicy: str(),
      trafficDistribution: str(),
    },
  },
  [c('ServicePort')]: {
    properties: {
      name: str(),
      protocol: str(),
      appProtocol: str(),
      port: int32(),
      targetPort: intOrString(),
      nodePort: int32(),
    },
    required: ['port'],
  },
  [c('ServiceStatus')]: {
    properties: {
      loadBalancer: ref(c('LoadBalancerStatus')),
      conditions: mergedList(free(), 'type'),
    },
  },
  [c('LoadBalancerStatus')]: { properties: { ingress: atomicList(ref(c('LoadBalancerIngress'))) } },
  [c('LoadBalancerIngress')]: {
    properties: { ip: str(), hostname: str(), ipMode: str(), ports: atomicList(free()) },
  },

  // ------------------------------------------------------------ core/v1 Endpoints
  [DEF.Endpoints]: {
    gvk: { group: '', version: 'v1', kind: 'Endpoints' },
    properties: { ...typeMeta, metadata: metadata(), subsets: atomicList(ref(c('EndpointSubset'))) },
  },
  [c('EndpointSubset')]: {
    properties: {
      addresses: atomicList(ref(c('EndpointAddress'))),
      notReadyAddresses: atomicList(ref(c('EndpointAddress'))),
      ports: atomicList(ref(c('EndpointPort'))),
    },
  },
  [c('EndpointAddress')]: {
    properties: { ip: str(), hostname: str(), nodeName: str(), targetRef: ref(c('ObjectReference')) },
    required: ['ip'],
  },
  [c('EndpointPort')]: {
    properties: { name: str(), port: int32(), protocol: str(), appProtocol: str() },
    required: ['port'],
  },

  // ------------------------------------------------------------ core/v1 ReplicationController
  [DEF.ReplicationController]: {
    gvk: { group: '', version: 'v1', kind: 'ReplicationController' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      spec: ref(c('ReplicationControllerSpec')),
      status: ref(c('ReplicationControllerStatus')),
    },
  },
  [c('ReplicationControllerSpec')]: {
    properties: {
      replicas: int32(),
      minReadySeconds: int32(),
      selector: labels(),
      template: ref(DEF.PodTemplateSpec),
    },
  },
  [c('ReplicationControllerStatus')]: {
    properties: {
      replicas: int32(),
      fullyLabeledReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      observedGeneration: int64(),
      conditions: mergedList(ref(c('ReplicationControllerCondition')), 'type'),
    },
    required: ['replicas'],
  },
  [c('ReplicationControllerCondition')]: condition(),

  // ------------------------------------------------------------ core/v1 Node
  [DEF.Node]: {
    gvk: { group: '', version: 'v1', kind: 'Node' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(c('NodeSpec')), status: ref(c('NodeStatus')) },
  },
  [c('NodeSpec')]: {
    properties: {
      podCIDR: str(),
      podCIDRs: mergedSet(str()),
      providerID: str(),
      unschedulable: bool(),
      taints: atomicList(ref(c('Taint'))),
      configSource: free(),
      externalID: str(),
    },
  },
  [c('Taint')]: {
    properties: { key: str(), value: str(), effect: str(), timeAdded: time() },
    required: ['key', 'effect'],
  },
  [c('NodeStatus')]: {
    properties: {
      capacity: mapOf(quantity()),
      allocatable: mapOf(quantity()),
      phase: str(),
      conditions: mergedList(ref(c('NodeCondition')), 'type'),
      addresses: mergedList(ref(c('NodeAddress')), 'type'),
      daemonEndpoints: ref(c('NodeDaemonEndpoints')),
      nodeInfo: ref(c('NodeSystemInfo')),
      images: atomicList(free()),
      volumesInUse: atomicList(str()),
      volumesAttached: atomicList(free()),
      config: free(),
      runtimeHandlers: atomicList(free()),
      features: free(),
    },
  },
  [c('NodeCondition')]: condition({ lastHeartbeatTime: time() }),
  [c('NodeAddress')]: { properties: { type: str(), address: str() }, required: ['type', 'address'] },
  [c('NodeDaemonEndpoints')]: { properties: { kubeletEndpoint: ref(c('DaemonEndpoint')) } },
  [c('DaemonEndpoint')]: { properties: { Port: int32() }, required: ['Port'] },
  [c('NodeSystemInfo')]: {
    properties: {
      machineID: str(),
      systemUUID: str(),
      bootID: str(),
      kernelVersion: str(),
      osImage: str(),
      containerRuntimeVersion: str(),
      kubeletVersion: str(),
      kubeProxyVersion: str(),
      operatingSystem: str(),
      architecture: str(),
      swap: free(),
    },
  },

  // ------------------------------------------------------------ core/v1 Namespace
  [DEF.Namespace]: {
    gvk: { group: '', version: 'v1', kind: 'Namespace' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      spec: ref(c('NamespaceSpec')),
      status: ref(c('NamespaceStatus')),
    },
  },
  [c('NamespaceSpec')]: { properties: { finalizers: strings() } },
  [c('NamespaceStatus')]: {
    properties: { phase: str(undefined, ['Active', 'Terminating']), conditions: mergedList(ref(c('NamespaceCondition')), 'type') },
  },
  [c('NamespaceCondition')]: condition(),

  // ------------------------------------------------------------ core/v1 ConfigMap, Secret, ServiceAccount
  [DEF.ConfigMap]: {
    gvk: { group: '', version: 'v1', kind: 'ConfigMap' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      data: mapOf(str(), 'Data contains the configuration data.'),
      binaryData: mapOf(byteStr(), 'BinaryData contains the binary data (base64).'),
      immutable: bool('Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.'),
    },
  },
  [DEF.Secret]: {
    gvk: { group: '', version: 'v1', kind: 'Secret' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      data: mapOf(byteStr(), 'Data contains the secret data (base64).'),
      stringData: mapOf(str(), 'stringData allows specifying non-binary secret data in string form; write-only, merged into data.'),
      type: str('Used to facilitate programmatic handling of secret data.'),
      immutable: bool('Immutable, if set to true, ensures that data stored in the Secret cannot be updated.'),
    },
  },
  [DEF.ServiceAccount]: {
    gvk: { group: '', version: 'v1', kind: 'ServiceAccount' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      secrets: mergedList(ref(c('ObjectReference')), 'name'),
      imagePullSecrets: atomicList(ref(c('LocalObjectReference'))),
      automountServiceAccountToken: bool(),
    },
  },

  // ------------------------------------------------------------ core/v1 Event
  [DEF.Event]: {
    gvk: { group: '', version: 'v1', kind: 'Event' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      involvedObject: ref(c('ObjectReference')),
      reason: str(),
      message: str(),
      source: ref(c('EventSource')),
      firstTimestamp: time(),
      lastTimestamp: time(),
      count: int32(),
      type: str(),
      eventTime: microTime(),
      series: ref(c('EventSeries')),
      action: str(),
      related: ref(c('ObjectReference')),
      reportingComponent: str(),
      reportingInstance: str(),
    },
    required: ['metadata', 'involvedObject'],
  },
  [c('EventSource')]: { properties: { component: str(), host: str() } },
  [c('EventSeries')]: { properties: { count: int32(), lastObservedTime: microTime() } },

  // ------------------------------------------------------------ discovery.k8s.io/v1
  [DEF.EndpointSlice]: {
    gvk: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      addressType: str(undefined, ['IPv4', 'IPv6', 'FQDN']),
      endpoints: atomicList(ref(d('Endpoint'))),
      ports: atomicList(ref(d('EndpointPort'))),
    },
    required: ['addressType', 'endpoints'],
  },
  [d('Endpoint')]: {
    properties: {
      addresses: { ...atomicList(str()), listType: 'set' },
      conditions: ref(d('EndpointConditions')),
      hostname: str(),
      targetRef: ref(c('ObjectReference')),
      deprecatedTopology: labels(),
      nodeName: str(),
      zone: str(),
      hints: free(),
    },
    required: ['addresses'],
  },
  [d('EndpointConditions')]: { properties: { ready: bool(), serving: bool(), terminating: bool() } },
  [d('EndpointPort')]: { properties: { name: str(), protocol: str(), port: int32(), appProtocol: str() } },

  // ------------------------------------------------------------ coordination.k8s.io/v1
  [DEF.Lease]: {
    gvk: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
    properties: { ...typeMeta, metadata: metadata(), spec: ref(`${COORDINATION}.LeaseSpec`) },
  },
  [`${COORDINATION}.LeaseSpec`]: {
    properties: {
      holderIdentity: str(),
      leaseDurationSeconds: int32(),
      acquireTime: microTime(),
      renewTime: microTime(),
      leaseTransitions: int32(),
      strategy: str(),
      preferredHolder: str(),
    },
  },

  // ------------------------------------------------------------ autoscaling/v1 (rc/scale)
  [DEF.Scale]: {
    gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    properties: {
      ...typeMeta,
      metadata: metadata(),
      spec: ref(`${AUTOSCALING}.ScaleSpec`),
      status: ref(`${AUTOSCALING}.ScaleStatus`),
    },
  },
  [`${AUTOSCALING}.ScaleSpec`]: { properties: { replicas: int32() } },
  [`${AUTOSCALING}.ScaleStatus`]: { properties: { replicas: int32(), selector: str() }, required: ['replicas'] },

  ...RBAC_DEFINITIONS,
  ...APPS_DEFINITIONS,
  ...BATCH_POLICY_DEFINITIONS,
};

/**
 * Definition names by kind, in the table's order, with their apiVersion:
 * the apiserver asks several times per request (field validation, patches),
 * and a walk over the whole table each time showed in its profile.
 */
const BY_KIND: ReadonlyMap<string, readonly { name: string; apiVersion: string }[]> = (() => {
  const out = new Map<string, { name: string; apiVersion: string }[]>();
  for (const [name, def] of Object.entries(DEFINITIONS)) {
    if (!def.gvk) continue;
    const apiVersion = def.gvk.group === '' ? def.gvk.version : `${def.gvk.group}/${def.gvk.version}`;
    const list = out.get(def.gvk.kind) ?? [];
    list.push({ name, apiVersion });
    out.set(def.gvk.kind, list);
  }
  return out;
})();

/** The definition name of a kind (`Pod` → `io.k8s.api.core.v1.Pod`), optionally for one apiVersion. */
export function definitionForKind(kind: string, apiVersion?: string): string | undefined {
  const defs = BY_KIND.get(kind);
  if (!defs) return undefined;
  return apiVersion === undefined ? defs[0]?.name : defs.find((d) => d.apiVersion === apiVersion)?.name;
}

/** Looks a definition up, failing loudly on a dangling reference (a bug in this table). */
export function definition(name: string): StructSchema {
  const def = DEFINITIONS[name];
  if (!def) throw new Error(`openapi: no schema definition named ${name}`);
  return def;
}
