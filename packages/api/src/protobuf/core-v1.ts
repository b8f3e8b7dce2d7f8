import type { FieldDesc, MessageDesc } from './schema.js';

/**
 * Field numbers from k8s.io/api core/v1 and k8s.io/apimachinery meta/v1
 * generated.proto, limited to what kubectl's typed-client commands send
 * (create namespace/service/configmap/secret/serviceaccount, debug --copy-to). Each number used by those
 * commands was checked against bodies captured from kubectl 1.32 (the unit
 * tests decode them). Numbers not listed are skipped on decode.
 */

const s = (name: string, extra: Partial<FieldDesc> = {}): FieldDesc => ({ name, type: 'string', ...extra });
const i32 = (name: string, extra: Partial<FieldDesc> = {}): FieldDesc => ({ name, type: 'int32', ...extra });
const i64 = (name: string, pointer = false): FieldDesc => ({ name, type: 'int64', ...(pointer ? { keepZero: true } : {}) });
/** A Go *bool (pointer = true) is on the wire only when set, so an explicit false is kept. */
const b = (name: string, pointer = false): FieldDesc => ({ name, type: 'bool', ...(pointer ? { keepZero: true } : {}) });
const strings = (name: string): FieldDesc => ({ name, type: 'string', repeated: true });
const stringMap = (name: string): FieldDesc => ({ name, type: 'string', map: true });
const msg = (name: string, type: MessageDesc, repeated = false): FieldDesc => ({ name, type, ...(repeated ? { repeated } : {}) });

export const OwnerReference: MessageDesc = {
  name: 'OwnerReference',
  fields: { 1: s('kind', { keepZero: true }), 3: s('name', { keepZero: true }), 4: s('uid', { keepZero: true }), 5: s('apiVersion', { keepZero: true }), 6: b('controller', true), 7: b('blockOwnerDeletion', true) },
};

export const ObjectMeta: MessageDesc = {
  name: 'ObjectMeta',
  fields: {
    1: s('name'),
    2: s('generateName'),
    3: s('namespace'),
    4: s('selfLink'),
    5: s('uid'),
    6: s('resourceVersion'),
    7: i64('generation'),
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time' },
    10: i64('deletionGracePeriodSeconds', true),
    11: stringMap('labels'),
    12: stringMap('annotations'),
    13: msg('ownerReferences', OwnerReference, true),
    14: strings('finalizers'),
  },
};

// metav1.LabelSelector (the workload kinds' selectors)
const LabelSelectorRequirement: MessageDesc = { name: 'LabelSelectorRequirement', fields: { 1: s('key', { keepZero: true }), 2: s('operator', { keepZero: true }), 3: strings('values') } };
export const LabelSelector: MessageDesc = { name: 'LabelSelector', fields: { 1: stringMap('matchLabels'), 2: msg('matchExpressions', LabelSelectorRequirement, true) } };

// --- Namespace

const NamespaceSpec: MessageDesc = { name: 'NamespaceSpec', fields: { 1: strings('finalizers') } };
const NamespaceStatus: MessageDesc = { name: 'NamespaceStatus', fields: { 1: s('phase') } };
export const Namespace: MessageDesc = { name: 'Namespace', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', NamespaceSpec), 3: msg('status', NamespaceStatus) } };

// --- Service

export const ServicePort: MessageDesc = {
  name: 'ServicePort',
  fields: { 1: s('name'), 2: s('protocol'), 3: i32('port', { keepZero: true }), 4: { name: 'targetPort', type: 'intOrString' }, 5: i32('nodePort'), 6: s('appProtocol', { keepZero: true }) },
};
const SessionAffinityConfig: MessageDesc = { name: 'SessionAffinityConfig', fields: { 1: msg('clientIP', { name: 'ClientIPConfig', fields: { 1: i32('timeoutSeconds') } }) } };
export const ServiceSpec: MessageDesc = {
  name: 'ServiceSpec',
  fields: {
    1: msg('ports', ServicePort, true),
    2: stringMap('selector'),
    3: s('clusterIP'),
    4: s('type'),
    5: strings('externalIPs'),
    7: s('sessionAffinity'),
    8: s('loadBalancerIP'),
    9: strings('loadBalancerSourceRanges'),
    10: s('externalName'),
    11: s('externalTrafficPolicy'),
    12: i32('healthCheckNodePort'),
    13: b('publishNotReadyAddresses'),
    14: msg('sessionAffinityConfig', SessionAffinityConfig),
    17: s('ipFamilyPolicy', { keepZero: true }),
    18: strings('clusterIPs'),
    19: strings('ipFamilies'),
    20: b('allocateLoadBalancerNodePorts', true),
    21: s('loadBalancerClass', { keepZero: true }),
    22: s('internalTrafficPolicy', { keepZero: true }),
  },
};
const LoadBalancerIngress: MessageDesc = { name: 'LoadBalancerIngress', fields: { 1: s('ip'), 2: s('hostname') } };
const ServiceStatus: MessageDesc = { name: 'ServiceStatus', fields: { 1: msg('loadBalancer', { name: 'LoadBalancerStatus', fields: { 1: msg('ingress', LoadBalancerIngress, true) } }) } };
export const Service: MessageDesc = { name: 'Service', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', ServiceSpec), 3: msg('status', ServiceStatus) } };

// --- Pod

export const ContainerPort: MessageDesc = {
  name: 'ContainerPort',
  fields: { 1: s('name'), 2: i32('hostPort'), 3: i32('containerPort', { keepZero: true }), 4: s('protocol'), 5: s('hostIP') },
};
const ObjectFieldSelector: MessageDesc = { name: 'ObjectFieldSelector', fields: { 1: s('apiVersion'), 2: s('fieldPath', { keepZero: true }) } };
const LocalObjectReference: MessageDesc = { name: 'LocalObjectReference', fields: { 1: s('name') } };
// Go embeds LocalObjectReference, so its name sits beside key in JSON.
const KeySelector = (name: string): MessageDesc => ({ name, fields: { 1: { name: 'localObjectReference', type: LocalObjectReference, inline: true }, 2: s('key', { keepZero: true }), 3: b('optional', true) } });
const EnvVarSource: MessageDesc = {
  name: 'EnvVarSource',
  fields: { 1: msg('fieldRef', ObjectFieldSelector), 3: msg('configMapKeyRef', KeySelector('ConfigMapKeySelector')), 4: msg('secretKeyRef', KeySelector('SecretKeySelector')) },
};
export const EnvVar: MessageDesc = { name: 'EnvVar', fields: { 1: s('name', { keepZero: true }), 2: s('value'), 3: msg('valueFrom', EnvVarSource) } };
const quantities = (name: string): FieldDesc => ({ name, type: 'quantity', map: true });
export const ResourceRequirements: MessageDesc = { name: 'ResourceRequirements', fields: { 1: quantities('limits'), 2: quantities('requests') } };
const VolumeMount: MessageDesc = { name: 'VolumeMount', fields: { 1: s('name', { keepZero: true }), 2: b('readOnly'), 3: s('mountPath', { keepZero: true }), 4: s('subPath') } };
export const Container: MessageDesc = {
  name: 'Container',
  fields: {
    1: s('name', { keepZero: true }),
    2: s('image'),
    3: strings('command'),
    4: strings('args'),
    5: s('workingDir'),
    6: msg('ports', ContainerPort, true),
    7: msg('env', EnvVar, true),
    8: msg('resources', ResourceRequirements),
    9: msg('volumeMounts', VolumeMount, true),
    13: s('terminationMessagePath'),
    14: s('imagePullPolicy'),
    16: b('stdin'),
    17: b('stdinOnce'),
    18: b('tty'),
    20: s('terminationMessagePolicy'),
  },
};
const Toleration: MessageDesc = { name: 'Toleration', fields: { 1: s('key'), 2: s('operator'), 3: s('value'), 4: s('effect'), 5: i64('tolerationSeconds', true) } };
export const PodSpec: MessageDesc = {
  name: 'PodSpec',
  fields: {
    2: msg('containers', Container, true),
    3: s('restartPolicy'),
    4: i64('terminationGracePeriodSeconds', true),
    5: i64('activeDeadlineSeconds', true),
    6: s('dnsPolicy'),
    7: stringMap('nodeSelector'),
    8: s('serviceAccountName'),
    9: s('serviceAccount'),
    10: s('nodeName'),
    11: b('hostNetwork'),
    12: b('hostPID'),
    13: b('hostIPC'),
    16: s('hostname'),
    17: s('subdomain'),
    19: s('schedulerName'),
    20: msg('initContainers', Container, true),
    21: b('automountServiceAccountToken', true),
    22: msg('tolerations', Toleration, true),
    24: s('priorityClassName'),
    25: i32('priority', { keepZero: true }),
    29: s('runtimeClassName', { keepZero: true }),
    30: b('enableServiceLinks', true),
    31: s('preemptionPolicy', { keepZero: true }),
  },
};
export const PodTemplateSpec: MessageDesc = { name: 'PodTemplateSpec', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', PodSpec) } };
export const Pod: MessageDesc = { name: 'Pod', fields: { 1: msg('metadata', ObjectMeta), 2: msg('spec', PodSpec), 3: msg('status', { name: 'PodStatus', fields: { 1: s('phase') } }) } };

// --- ConfigMap, Secret, ServiceAccount (kubectl create configmap|secret|serviceaccount)

const bytesMap = (name: string): FieldDesc => ({ name, type: 'bytes', map: true });
export const ConfigMap: MessageDesc = {
  name: 'ConfigMap',
  fields: { 1: msg('metadata', ObjectMeta), 2: stringMap('data'), 3: bytesMap('binaryData'), 4: b('immutable', true) },
};
export const Secret: MessageDesc = {
  name: 'Secret',
  fields: { 1: msg('metadata', ObjectMeta), 2: bytesMap('data'), 3: s('type'), 4: stringMap('stringData'), 5: b('immutable', true) },
};
export const ObjectReference: MessageDesc = {
  name: 'ObjectReference',
  fields: { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') },
};
export const ServiceAccount: MessageDesc = {
  name: 'ServiceAccount',
  fields: { 1: msg('metadata', ObjectMeta), 2: msg('secrets', ObjectReference, true), 3: msg('imagePullSecrets', LocalObjectReference, true), 4: b('automountServiceAccountToken', true) },
};

/** Top-level kinds by `apiVersion/kind`, as the envelope names them. */
export const CORE_V1_KINDS: Readonly<Record<string, MessageDesc>> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/Pod': Pod,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/ServiceAccount': ServiceAccount,
};

/** The message descriptions by Go type name, for callers that wrap them (a Job's or an RC's pod template). */
export const CORE_V1_MESSAGES = {
  ObjectMeta, OwnerReference, LabelSelector, PodTemplateSpec, ObjectReference, Namespace, Service, ServiceSpec, ServicePort, Pod, PodSpec, Container, ContainerPort, EnvVar, ResourceRequirements, ConfigMap, Secret, ServiceAccount,
} as const;
