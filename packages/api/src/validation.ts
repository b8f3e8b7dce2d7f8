/**
 * Validation and defaulting of API objects, following the rules Kubernetes
 * applies per kind. Validation returns every problem at once as FieldErrors
 * with a field path (`spec.ports[0].port`), which the apiserver turns into a
 * 422 Status whose causes kubectl prints. Defaulting returns a deep copy.
 */
import { isIP, isIPv4, Cidr } from '@pilot/common';
import type {
  ConfigMap,
  Container,
  Endpoints,
  EndpointSlice,
  Event,
  KubeObject,
  LabelSelectorSpec,
  Lease,
  Namespace,
  Node,
  ObjectMeta,
  Pod,
  PodSpec,
  Probe,
  ReplicationController,
  Secret,
  Service,
  ServicePort,
} from './types.js';
import type { Job, PodDisruptionBudget } from './batch-policy-types.js';
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from './apps-types.js';
import { resourceByName } from './resources.js';
import { labelSelectorFromObject } from './selectors.js';
import {
  base64DecodedLength,
  base64Error,
  configMapKeyErrors,
  dns1035LabelError,
  dns1123LabelError,
  dns1123SubdomainError,
  ianaSvcNameError,
  isPortNumber,
  labelValueError,
  pathSegmentNameErrors,
  qualifiedNameError,
} from './names.js';

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong';

export interface FieldError {
  type: FieldErrorType;
  /** Path of the offending field, e.g. `spec.ports[0].port`. */
  field: string;
  message: string;
  value?: unknown;
}

export const fieldErrors = {
  required: (field: string, message = ''): FieldError => ({ type: 'FieldValueRequired', field, message }),
  invalid: (field: string, value: unknown, message: string): FieldError => ({ type: 'FieldValueInvalid', field, value, message }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    message: `supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, message: '' }),
  forbidden: (field: string, message: string): FieldError => ({ type: 'FieldValueForbidden', field, message }),
  tooLong: (field: string, value: unknown, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    value,
    message: `may not be more than ${max} bytes`,
  }),
};

const E = fieldErrors;

/** Total size limit of all annotations of one object (256 KiB, as Kubernetes). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

type NameRule = (s: string) => string | undefined;

function rbacNameError(s: string): string | undefined {
  const problems = pathSegmentNameErrors(s);
  return problems.length ? problems.join(', ') : undefined;
}

/** Which name rule Kubernetes applies to each kind's metadata.name. */
const NAME_RULES: Record<string, NameRule> = {
  namespaces: dns1123LabelError,
  services: dns1035LabelError,
  pods: dns1123SubdomainError,
  endpoints: dns1123SubdomainError,
  replicationcontrollers: dns1123SubdomainError,
  nodes: dns1123SubdomainError,
  events: dns1123SubdomainError,
  endpointslices: dns1123SubdomainError,
  leases: dns1123SubdomainError,
  jobs: dns1123SubdomainError,
  poddisruptionbudgets: dns1123SubdomainError,
  deployments: dns1123SubdomainError,
  replicasets: dns1123SubdomainError,
  daemonsets: dns1123SubdomainError,
  statefulsets: dns1123SubdomainError,
  controllerrevisions: dns1123SubdomainError,
  // RBAC names are path segments (ValidateRBACName): `system:kube-scheduler` is a role's name.
  roles: rbacNameError,
  clusterroles: rbacNameError,
  rolebindings: rbacNameError,
  clusterrolebindings: rbacNameError,
};

/** Resolves `pods`, `pod`, `po` or `Pod` to the plural resource name. */
function plural(resource: string): string {
  return resourceByName(resource)?.resource ?? resource;
}

/** Object check that does not narrow typed values (they are typed but may be anything at runtime). */
function isObj<T>(v: T): v is NonNullable<T> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ------------------------------------------------------------------ metadata

/** generateName is a prefix: a trailing '-' is fine (the random suffix follows). */
function maskTrailingDash(s: string): string {
  return s.length > 1 && s.endsWith('-') ? `${s.slice(0, -1)}a` : s;
}

export function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObj(labels)) return [E.invalid(path, labels, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels as object)) {
    const kerr = qualifiedNameError(k);
    if (kerr) errs.push(E.invalid(path, k, kerr));
    if (typeof v !== 'string') errs.push(E.invalid(`${path}[${k}]`, v, 'must be a string'));
    else {
      const verr = labelValueError(v);
      if (verr) errs.push(E.invalid(`${path}[${k}]`, v, verr));
    }
  }
  return errs;
}

export function validateAnnotations(ann: unknown, path: string): FieldError[] {
  if (ann === undefined || ann === null) return [];
  if (!isObj(ann)) return [E.invalid(path, ann, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(ann as object)) {
    const kerr = qualifiedNameError(k.toLowerCase());
    if (kerr) errs.push(E.invalid(path, k, kerr));
    if (typeof v !== 'string') errs.push(E.invalid(`${path}[${k}]`, v, 'must be a string'));
    total += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(E.tooLong(path, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function validateMeta(resource: string, meta: ObjectMeta | undefined, namespaced: boolean, old?: KubeObject): FieldError[] {
  if (!isObj(meta)) return [E.required('metadata')];
  const errs: FieldError[] = [];
  const rule = NAME_RULES[resource] ?? dns1123SubdomainError;
  if (!meta.name) {
    if (!meta.generateName) errs.push(E.required('metadata.name', 'name or generateName is required'));
  } else {
    const err = rule(meta.name);
    if (err) errs.push(E.invalid('metadata.name', meta.name, err));
  }
  if (meta.generateName) {
    const err = rule(maskTrailingDash(meta.generateName));
    if (err) errs.push(E.invalid('metadata.generateName', meta.generateName, err));
  }
  if (namespaced) {
    if (!meta.namespace) errs.push(E.required('metadata.namespace'));
    else {
      const err = dns1123LabelError(meta.namespace);
      if (err) errs.push(E.invalid('metadata.namespace', meta.namespace, err));
    }
  } else if (meta.namespace) {
    errs.push(E.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  if (meta.generation !== undefined && (!Number.isInteger(meta.generation) || meta.generation < 0))
    errs.push(E.invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  if (meta.deletionGracePeriodSeconds !== undefined && (!Number.isInteger(meta.deletionGracePeriodSeconds) || meta.deletionGracePeriodSeconds < 0))
    errs.push(E.invalid('metadata.deletionGracePeriodSeconds', meta.deletionGracePeriodSeconds, 'must be greater than or equal to 0'));
  for (const [i, o] of (meta.ownerReferences ?? []).entries()) {
    const p = `metadata.ownerReferences[${i}]`;
    if (!o.apiVersion) errs.push(E.invalid(`${p}.apiVersion`, o.apiVersion ?? '', 'version must not be empty'));
    if (!o.kind) errs.push(E.invalid(`${p}.kind`, o.kind ?? '', 'kind must not be empty'));
    if (!o.name) errs.push(E.invalid(`${p}.name`, o.name ?? '', 'name must not be empty'));
    if (!o.uid) errs.push(E.invalid(`${p}.uid`, o.uid ?? '', 'uid must not be empty'));
  }
  const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
  for (const [i, f] of finalizers.entries()) {
    const err = typeof f === 'string' ? qualifiedNameError(f) : 'must be a string';
    if (err) errs.push(E.invalid(`metadata.finalizers[${i}]`, f, err));
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion'))
    errs.push(E.invalid('metadata.finalizers', 'orphan', 'finalizer orphan and foregroundDeletion cannot be both set'));
  if (old) {
    const om = old.metadata ?? {};
    if (om.deletionTimestamp) {
      const added = finalizers.filter((f) => !(om.finalizers ?? []).includes(f));
      if (added.length)
        errs.push(E.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`));
    }
    if (om.name !== undefined && meta.name !== om.name) errs.push(E.invalid('metadata.name', meta.name, 'field is immutable'));
    if (namespaced && om.namespace !== undefined && meta.namespace !== om.namespace)
      errs.push(E.invalid('metadata.namespace', meta.namespace, 'field is immutable'));
    if (om.uid && meta.uid && meta.uid !== om.uid) errs.push(E.invalid('metadata.uid', meta.uid, 'field is immutable'));
    if (om.creationTimestamp && meta.creationTimestamp && meta.creationTimestamp !== om.creationTimestamp)
      errs.push(E.invalid('metadata.creationTimestamp', meta.creationTimestamp, 'field is immutable'));
    // Only deletion sets these (ValidateObjectMetaAccessorUpdate); the registry keeps the stored ones before validating.
    if (meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== om.deletionTimestamp)
      errs.push(E.invalid('metadata.deletionTimestamp', meta.deletionTimestamp, 'field is immutable'));
    if (meta.deletionGracePeriodSeconds !== undefined && meta.deletionGracePeriodSeconds !== om.deletionGracePeriodSeconds)
      errs.push(E.invalid('metadata.deletionGracePeriodSeconds', meta.deletionGracePeriodSeconds, 'field is immutable'));
  }
  return errs;
}

// ------------------------------------------------------------------ shared pieces

function validateProtocol(p: unknown, path: string, required = false): FieldError[] {
  if (p === undefined || p === '') return required ? [E.required(path)] : [];
  return (PROTOCOLS as readonly unknown[]).includes(p) ? [] : [E.notSupported(path, p, PROTOCOLS)];
}

function validatePortNumber(n: unknown, path: string, required = true): FieldError[] {
  if (n === undefined || n === null) return required ? [E.required(path)] : [];
  return isPortNumber(n) ? [] : [E.invalid(path, n, 'must be between 1 and 65535, inclusive')];
}

/** A port given as a number (1..65535) or a name (IANA_SVC_NAME), like targetPort or a probe port. */
function validatePortNumOrName(v: unknown, path: string): FieldError[] {
  if (typeof v === 'number') return validatePortNumber(v, path);
  if (typeof v === 'string') {
    // "8080" in YAML quotes is still a number for Kubernetes' IntOrString? No: it is a name and must be valid as one.
    const err = ianaSvcNameError(v);
    return err ? [E.invalid(path, v, err)] : [];
  }
  return [E.invalid(path, v, 'must be a port number or a port name')];
}

function validateIP(v: unknown, path: string): FieldError[] {
  if (typeof v !== 'string' || !isIP(v)) return [E.invalid(path, v, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
  return [];
}

/** Endpoint IPs may not be loopback, link-local or multicast (traffic there would never reach a pod). */
function validateEndpointIP(v: unknown, path: string): FieldError[] {
  const errs = validateIP(v, path);
  if (errs.length || typeof v !== 'string') return errs;
  if (isIPv4(v)) {
    if (Cidr.parse('127.0.0.0/8').contains(v)) return [E.invalid(path, v, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
    if (Cidr.parse('169.254.0.0/16').contains(v)) return [E.invalid(path, v, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
    if (Cidr.parse('224.0.0.0/4').contains(v)) return [E.invalid(path, v, 'may not be in the multicast range (224.0.0.0/4, ff00::/8)')];
  } else if (v === '::1') return [E.invalid(path, v, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  return [];
}

/** An IPv4 CIDR such as loadBalancerSourceRanges hold (host bits may be set, as Kubernetes accepts). */
function validateCidr(v: unknown, path: string): FieldError[] {
  if (typeof v !== 'string') return [E.invalid(path, v, 'must be a CIDR (e.g. 192.0.2.0/24)')];
  try {
    Cidr.parse(v.trim(), { loose: true });
    return [];
  } catch (err) {
    return [E.invalid(path, v, (err as Error).message)];
  }
}

function oneOf(v: unknown, path: string, allowed: readonly string[]): FieldError[] {
  if (v === undefined) return [];
  return allowed.includes(v as string) ? [] : [E.notSupported(path, v, allowed)];
}

function nonNegativeInt(v: unknown, path: string): FieldError[] {
  if (v === undefined) return [];
  return Number.isInteger(v) && (v as number) >= 0 ? [] : [E.invalid(path, v, 'must be greater than or equal to 0')];
}

function validateProbe(p: Probe | undefined, path: string): FieldError[] {
  if (p === undefined) return [];
  if (!isObj(p)) return [E.invalid(path, p, 'must be an object')];
  const errs: FieldError[] = [];
  const handlers = [p.exec && 'exec', p.httpGet && 'httpGet', p.tcpSocket && 'tcpSocket'].filter(Boolean);
  if (handlers.length === 0) errs.push(E.required(path, 'must specify a handler type'));
  if (handlers.length > 1) errs.push(E.forbidden(`${path}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  if (p.httpGet) errs.push(...validatePortNumOrName(p.httpGet.port, `${path}.httpGet.port`));
  if (p.tcpSocket) errs.push(...validatePortNumOrName(p.tcpSocket.port, `${path}.tcpSocket.port`));
  if (p.exec && (!Array.isArray(p.exec.command) || p.exec.command.length === 0)) errs.push(E.required(`${path}.exec.command`));
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const)
    errs.push(...nonNegativeInt(p[k], `${path}.${k}`));
  return errs;
}

function validateContainer(c: Container, path: string, volumes: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(E.required(`${path}.name`));
  else {
    const err = dns1123LabelError(c.name);
    if (err) errs.push(E.invalid(`${path}.name`, c.name, err));
  }
  if (!c.image || typeof c.image !== 'string' || c.image.trim() === '') errs.push(E.required(`${path}.image`));
  for (const k of ['command', 'args'] as const) {
    const v = c[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) errs.push(E.invalid(`${path}.${k}`, v, 'must be a list of strings'));
  }
  const portNames = new Set<string>();
  for (const [i, p] of (c.ports ?? []).entries()) {
    const pp = `${path}.ports[${i}]`;
    errs.push(...validatePortNumber(p.containerPort, `${pp}.containerPort`));
    if (p.hostPort !== undefined && p.hostPort !== 0) errs.push(...validatePortNumber(p.hostPort, `${pp}.hostPort`));
    errs.push(...validateProtocol(p.protocol, `${pp}.protocol`));
    if (p.hostIP !== undefined && p.hostIP !== '') errs.push(...validateIP(p.hostIP, `${pp}.hostIP`));
    if (p.name !== undefined) {
      const err = ianaSvcNameError(p.name);
      if (err) errs.push(E.invalid(`${pp}.name`, p.name, err));
      else if (portNames.has(p.name)) errs.push(E.duplicate(`${pp}.name`, p.name));
      portNames.add(p.name);
    }
  }
  for (const [i, e] of (c.env ?? []).entries()) {
    if (!e.name) errs.push(E.required(`${path}.env[${i}].name`));
    else if (e.name.includes('=')) errs.push(E.invalid(`${path}.env[${i}].name`, e.name, "must not contain '='"));
  }
  const mounts = new Set<string>();
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const mp = `${path}.volumeMounts[${i}]`;
    if (!m.name) errs.push(E.required(`${mp}.name`));
    else if (!volumes.has(m.name)) errs.push(E.notSupported(`${mp}.name`, m.name, [...volumes]));
    if (!m.mountPath) errs.push(E.required(`${mp}.mountPath`));
    else if (mounts.has(m.mountPath)) errs.push(E.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
    if (m.mountPath) mounts.add(m.mountPath);
  }
  errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`));
  errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`));
  errs.push(...oneOf(c.imagePullPolicy, `${path}.imagePullPolicy`, ['Always', 'IfNotPresent', 'Never']));
  return errs;
}

/** As upstream's ValidateTolerations: a list of objects; Exists takes no value; NoExecute alone has tolerationSeconds. */
function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  if (tolerations === undefined || tolerations === null) return [];
  if (!Array.isArray(tolerations)) return [E.invalid(path, tolerations, 'must be a list of tolerations')];
  const errs: FieldError[] = [];
  for (const [i, t] of tolerations.entries()) {
    const tp = `${path}[${i}]`;
    if (!isObj(t)) {
      errs.push(E.invalid(tp, t, 'must be an object'));
      continue;
    }
    const { key, operator, value, effect, tolerationSeconds } = t as Record<string, unknown>;
    for (const [f, v] of [['key', key], ['value', value]] as const) if (v !== undefined && typeof v !== 'string') errs.push(E.invalid(`${tp}.${f}`, v, 'must be a string'));
    // Empty operator means Equal, empty effect every effect.
    if (operator !== '') errs.push(...oneOf(operator, `${tp}.operator`, ['Equal', 'Exists']));
    if (operator === 'Exists' && value) errs.push(E.invalid(`${tp}.operator`, operator, 'value must be empty when `operator` is \'Exists\''));
    if (!key && operator !== 'Exists') errs.push(E.invalid(`${tp}.operator`, operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (effect !== '') errs.push(...oneOf(effect, `${tp}.effect`, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    if (tolerationSeconds !== undefined && tolerationSeconds !== null) {
      if (!Number.isInteger(tolerationSeconds)) errs.push(E.invalid(`${tp}.tolerationSeconds`, tolerationSeconds, 'must be an integer'));
      else if (effect !== 'NoExecute') errs.push(E.invalid(`${tp}.effect`, effect, 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
    }
  }
  return errs;
}

export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  if (!isObj(spec)) return [E.required(path)];
  const errs: FieldError[] = [];
  const volumes = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    const vp = `${path}.volumes[${i}]`;
    if (!v.name) errs.push(E.required(`${vp}.name`));
    else {
      const err = dns1123LabelError(v.name);
      if (err) errs.push(E.invalid(`${vp}.name`, v.name, err));
      else if (volumes.has(v.name)) errs.push(E.duplicate(`${vp}.name`, v.name));
      volumes.add(v.name);
    }
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errs.push(E.required(`${path}.containers`));
  const names = new Set<string>();
  const all: [string, Container[]][] = [
    ['initContainers', spec.initContainers ?? []],
    ['containers', Array.isArray(spec.containers) ? spec.containers : []],
  ];
  for (const [list, containers] of all) {
    for (const [i, c] of containers.entries()) {
      const cp = `${path}.${list}[${i}]`;
      if (!isObj(c)) {
        errs.push(E.invalid(cp, c, 'must be an object'));
        continue;
      }
      errs.push(...validateContainer(c, cp, volumes));
      if (c.name) {
        if (names.has(c.name)) errs.push(E.duplicate(`${cp}.name`, c.name));
        names.add(c.name);
      }
    }
  }
  errs.push(...oneOf(spec.restartPolicy, `${path}.restartPolicy`, ['Always', 'OnFailure', 'Never']));
  errs.push(...oneOf(spec.dnsPolicy, `${path}.dnsPolicy`, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']));
  errs.push(...nonNegativeInt(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  if (spec.activeDeadlineSeconds !== undefined && (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds < 1))
    errs.push(E.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than or equal to 1'));
  for (const k of ['hostname', 'subdomain'] as const) {
    const v = spec[k];
    if (v) {
      const err = dns1123LabelError(v);
      if (err) errs.push(E.invalid(`${path}.${k}`, v, err));
    }
  }
  if (spec.nodeName) {
    const err = dns1123SubdomainError(spec.nodeName);
    if (err) errs.push(E.invalid(`${path}.nodeName`, spec.nodeName, err));
  }
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  if (spec.dnsPolicy === 'None' && (!spec.dnsConfig || !spec.dnsConfig.nameservers?.length))
    errs.push(E.required(`${path}.dnsConfig.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  for (const [i, ns] of (spec.dnsConfig?.nameservers ?? []).entries()) errs.push(...validateIP(ns, `${path}.dnsConfig.nameservers[${i}]`));
  return errs;
}

// ------------------------------------------------------------------ kinds

function validatePod(pod: Pod, old?: Pod): FieldError[] {
  const errs = validatePodSpec(pod.spec, 'spec');
  if (old?.spec && pod.spec) {
    // Pod specs are immutable except images, activeDeadlineSeconds, added tolerations
    // and nodeName going from unset to set (binding).
    const strip = (s: PodSpec, other: PodSpec): unknown => ({
      ...s,
      // A body of the wrong shape reaches here when its kind's other checks failed; it must not throw.
      containers: Array.isArray(s.containers) ? s.containers.map((c) => ({ ...c, image: '' })) : s.containers,
      initContainers: Array.isArray(s.initContainers) ? s.initContainers.map((c) => ({ ...c, image: '' })) : s.initContainers,
      activeDeadlineSeconds: undefined,
      tolerations: undefined,
      nodeName: s.nodeName || other.nodeName || undefined,
    });
    if (JSON.stringify(canonical(strip(pod.spec, old.spec))) !== JSON.stringify(canonical(strip(old.spec, pod.spec))))
      errs.push(
        E.forbidden(
          'spec',
          'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)',
        ),
      );
    if (old.spec.nodeName && pod.spec.nodeName !== old.spec.nodeName)
      errs.push(E.invalid('spec.nodeName', pod.spec.nodeName ?? '', 'field is immutable once set'));
  }
  errs.push(...validatePodStatus(pod));
  return errs;
}

function validatePodStatus(pod: Pod): FieldError[] {
  const errs: FieldError[] = [];
  if (pod.status?.podIP) errs.push(...validateIP(pod.status.podIP, 'status.podIP'));
  if (pod.status?.hostIP) errs.push(...validateIP(pod.status.hostIP, 'status.hostIP'));
  for (const [i, p] of (pod.status?.podIPs ?? []).entries()) errs.push(...validateIP(p.ip, `status.podIPs[${i}].ip`));
  return errs;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function validateServicePort(p: ServicePort, path: string, type: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validatePortNumber(p.port, `${path}.port`));
  errs.push(...validateProtocol(p.protocol, `${path}.protocol`));
  if (p.targetPort !== undefined && !(p.targetPort === 0)) errs.push(...validatePortNumOrName(p.targetPort, `${path}.targetPort`));
  if (p.nodePort !== undefined && p.nodePort !== 0) {
    if (type !== 'NodePort' && type !== 'LoadBalancer')
      errs.push(E.forbidden(`${path}.nodePort`, `may not be used when \`type\` is '${type}'`));
    else errs.push(...validatePortNumber(p.nodePort, `${path}.nodePort`));
  }
  return errs;
}

function validateService(svc: Service, old?: Service): FieldError[] {
  const spec = svc.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(E.notSupported('spec.type', type, SERVICE_TYPES));
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (type === 'ExternalName') {
    if (!spec.externalName) errs.push(E.required('spec.externalName'));
    else {
      const name = spec.externalName.endsWith('.') ? spec.externalName.slice(0, -1) : spec.externalName;
      const err = dns1123SubdomainError(name.toLowerCase());
      if (err) errs.push(E.invalid('spec.externalName', spec.externalName, err));
    }
    if (spec.clusterIP && spec.clusterIP !== '')
      errs.push(E.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else {
    if (ports.length === 0 && !headless) errs.push(E.required('spec.ports'));
    if (spec.clusterIP && !headless) errs.push(...validateIP(spec.clusterIP, 'spec.clusterIP'));
    if (headless && (type === 'NodePort' || type === 'LoadBalancer'))
      errs.push(E.invalid('spec.clusterIP', 'None', `may not be set to 'None' for ${type} services`));
  }
  if (spec.clusterIPs?.length) {
    if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIPs[0] !== spec.clusterIP)
      errs.push(E.invalid('spec.clusterIPs', spec.clusterIPs, 'must have the same value as `spec.clusterIP` at index 0'));
    for (const [i, ip] of spec.clusterIPs.entries()) if (ip !== 'None') errs.push(...validateIP(ip, `spec.clusterIPs[${i}]`));
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  for (const [i, p] of ports.entries()) {
    const pp = `spec.ports[${i}]`;
    if (!isObj(p)) {
      errs.push(E.invalid(pp, p, 'must be an object'));
      continue;
    }
    errs.push(...validateServicePort(p, pp, type));
    if (ports.length > 1 && !p.name) errs.push(E.required(`${pp}.name`));
    if (p.name) {
      const err = dns1123LabelError(p.name);
      if (err) errs.push(E.invalid(`${pp}.name`, p.name, err));
      if (names.has(p.name)) errs.push(E.duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seen.has(key)) errs.push(E.duplicate(pp, { port: p.port, protocol: p.protocol ?? 'TCP' }));
    seen.add(key);
  }
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  errs.push(...oneOf(spec.sessionAffinity, 'spec.sessionAffinity', ['None', 'ClientIP']));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinityConfig && spec.sessionAffinity !== 'ClientIP')
    errs.push(E.forbidden('spec.sessionAffinityConfig', "must not be set when session affinity is 'None'"));
  else if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0 && timeout <= 86400))
    errs.push(E.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  for (const [i, ip] of (spec.externalIPs ?? []).entries()) errs.push(...validateIP(ip, `spec.externalIPs[${i}]`));
  if (spec.externalTrafficPolicy !== undefined) {
    if (type !== 'NodePort' && type !== 'LoadBalancer')
      errs.push(E.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    else errs.push(...oneOf(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', ['Cluster', 'Local']));
  }
  errs.push(...oneOf(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', ['Cluster', 'Local']));
  if (spec.healthCheckNodePort !== undefined && spec.healthCheckNodePort !== 0) {
    if (type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local')
      errs.push(E.invalid('spec.healthCheckNodePort', spec.healthCheckNodePort, 'may only be set when `type` is \'LoadBalancer\' and `externalTrafficPolicy` is \'Local\''));
    else errs.push(...validatePortNumber(spec.healthCheckNodePort, 'spec.healthCheckNodePort'));
  }
  if (spec.loadBalancerSourceRanges !== undefined) {
    if (!Array.isArray(spec.loadBalancerSourceRanges)) errs.push(E.invalid('spec.loadBalancerSourceRanges', spec.loadBalancerSourceRanges, 'must be a list of CIDRs'));
    else if (spec.loadBalancerSourceRanges.length && type !== 'LoadBalancer')
      errs.push(E.forbidden('spec.loadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    else for (const [i, c] of spec.loadBalancerSourceRanges.entries()) errs.push(...validateCidr(c, `spec.loadBalancerSourceRanges[${i}]`));
  }
  if (old?.spec) {
    const oldType = old.spec.type ?? 'ClusterIP';
    const toOrFromExternalName = type === 'ExternalName' || oldType === 'ExternalName';
    const oldIP = old.spec.clusterIP ?? '';
    if (!toOrFromExternalName && oldIP !== '' && (spec.clusterIP ?? '') !== oldIP)
      errs.push(E.invalid('spec.clusterIP', spec.clusterIP ?? '', 'field is immutable'));
  }
  errs.push(...validateServiceStatus(svc));
  return errs;
}

function validateServiceStatus(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, ing] of (svc.status?.loadBalancer?.ingress ?? []).entries())
    if (ing.ip !== undefined) errs.push(...validateIP(ing.ip, `status.loadBalancer.ingress[${i}].ip`));
  return errs;
}

function validateRC(rc: ReplicationController): FieldError[] {
  const spec = rc.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [];
  errs.push(...nonNegativeInt(spec.replicas, 'spec.replicas'));
  errs.push(...nonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds'));
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) errs.push(E.required('spec.selector'));
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (!isObj(spec.template)) errs.push(E.required('spec.template'));
  else {
    const labels = spec.template.metadata?.labels ?? {};
    errs.push(...validateLabels(spec.template.metadata?.labels, 'spec.template.metadata.labels'));
    const mismatch = Object.entries(selector).some(([k, v]) => labels[k] !== v);
    if (Object.keys(selector).length > 0 && mismatch)
      errs.push(E.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    errs.push(...validatePodSpec(spec.template.spec, 'spec.template.spec'));
    const rp = spec.template.spec?.restartPolicy;
    if (rp !== undefined && rp !== 'Always') errs.push(E.notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  }
  errs.push(...validateReplicaCounts(rc.status, ['replicas']));
  return errs;
}

/** A workload status's counts (ValidateReplicaSetStatus, ValidateDeploymentStatus, ...): non-negative integers. */
function validateReplicaCounts(status: unknown, fields: readonly string[]): FieldError[] {
  if (!isObj(status)) return [];
  const st = status as Record<string, unknown>;
  return fields.flatMap((f) => nonNegativeInt(st[f], `status.${f}`));
}

const REPLICA_COUNTS = ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'];

/**
 * batch/v1 Job (upstream ValidateJob, the parts pilot acts on): counts are
 * non-negative, the pods restart Never or OnFailure (a Job's pod that
 * restarts Always never finishes), the selector selects the template, and
 * the selector and template stay as created.
 */
function validateJob(job: Job, old?: Job): FieldError[] {
  const spec = job.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished'] as const)
    if (spec[f] !== null) errs.push(...nonNegativeInt(spec[f], `spec.${f}`));
  if (spec.activeDeadlineSeconds === 0) errs.push(E.invalid('spec.activeDeadlineSeconds', 0, 'must be greater than 0'));
  errs.push(...oneOf(spec.completionMode, 'spec.completionMode', ['NonIndexed', 'Indexed']));
  if (!isObj(spec.selector)) errs.push(E.required('spec.selector'));
  if (!isObj(spec.template)) errs.push(E.required('spec.template'));
  else {
    const labels = spec.template.metadata?.labels ?? {};
    errs.push(...validateLabels(spec.template.metadata?.labels, 'spec.template.metadata.labels'));
    if (isObj(spec.selector)) {
      try {
        if (!labelSelectorFromObject(spec.selector).matches(labels))
          errs.push(E.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
      } catch (err) {
        errs.push(E.invalid('spec.selector', spec.selector, (err as Error).message));
      }
    }
    errs.push(...validatePodSpec(spec.template.spec, 'spec.template.spec'));
    const rp = spec.template.spec?.restartPolicy;
    if (rp !== 'Never' && rp !== 'OnFailure') errs.push(E.notSupported('spec.template.spec.restartPolicy', rp, ['OnFailure', 'Never']));
  }
  if (old && isObj(old.spec)) {
    if (JSON.stringify(canonical(spec.selector)) !== JSON.stringify(canonical(old.spec.selector))) errs.push(E.invalid('spec.selector', spec.selector, 'field is immutable'));
    if (JSON.stringify(canonical(spec.template)) !== JSON.stringify(canonical(old.spec.template))) errs.push(E.invalid('spec.template', spec.template, 'field is immutable'));
    if (old.spec.completions !== spec.completions) errs.push(E.invalid('spec.completions', spec.completions, 'field is immutable'));
  }
  return errs;
}

/** An IntOrString count: a non-negative integer or a percentage `N%` (IsValidPercent). */
function intOrPercent(v: unknown, path: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return /^[0-9]+%$/.test(v) && Number(v.slice(0, -1)) <= 100 ? [] : [E.invalid(path, v, 'must be an integer or percentage (e.g \'5%\')')];
  return nonNegativeInt(v, path);
}

/** policy/v1 PodDisruptionBudget (ValidatePodDisruptionBudgetSpec). */
function validatePodDisruptionBudget(pdb: PodDisruptionBudget): FieldError[] {
  const spec = pdb.spec;
  if (!isObj(spec)) return [];
  const errs: FieldError[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined)
    errs.push(E.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  errs.push(...intOrPercent(spec.minAvailable, 'spec.minAvailable'), ...intOrPercent(spec.maxUnavailable, 'spec.maxUnavailable'));
  errs.push(...oneOf(spec.unhealthyPodEvictionPolicy, 'spec.unhealthyPodEvictionPolicy', ['IfHealthyBudget', 'AlwaysAllow']));
  if (isObj(spec.selector)) {
    try {
      labelSelectorFromObject(spec.selector);
    } catch (err) {
      errs.push(E.invalid('spec.selector', spec.selector, (err as Error).message));
    }
  }
  return errs;
}

/**
 * What apps/v1 workloads share (ValidatePodTemplateSpecForReplicaSet and
 * friends): a non-empty selector that selects the template, a pod template
 * that restarts Always, and a selector that stays as created (422 `field is
 * immutable`, as apps/v1 has refused a selector change since 1.8).
 */
function validateWorkloadTemplate(
  spec: { selector?: unknown; template?: { metadata?: ObjectMeta; spec?: PodSpec } },
  oldSpec: { selector?: unknown } | undefined,
  emptySelector: string,
): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector as LabelSelectorSpec | undefined;
  let selector: ReturnType<typeof labelSelectorFromObject> | undefined;
  if (!isObj(sel)) errs.push(E.required('spec.selector'));
  else {
    try {
      selector = labelSelectorFromObject(sel);
      if (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) errs.push(E.invalid('spec.selector', sel, emptySelector));
    } catch (err) {
      errs.push(E.invalid('spec.selector', sel, (err as Error).message));
    }
    errs.push(...validateLabels(sel.matchLabels, 'spec.selector.matchLabels'));
  }
  if (!isObj(spec.template)) errs.push(E.required('spec.template'));
  else {
    const labels = spec.template.metadata?.labels ?? {};
    errs.push(...validateLabels(spec.template.metadata?.labels, 'spec.template.metadata.labels'));
    if (selector && !selector.matches(labels)) errs.push(E.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    errs.push(...validatePodSpec(spec.template.spec, 'spec.template.spec'));
    const rp = spec.template.spec?.restartPolicy;
    if (rp !== undefined && rp !== 'Always') errs.push(E.notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  }
  if (oldSpec && JSON.stringify(canonical(spec.selector)) !== JSON.stringify(canonical(oldSpec.selector)))
    errs.push(E.invalid('spec.selector', spec.selector, 'field is immutable'));
  return errs;
}

/** A percentage or count resolved against 100 (only to tell 0 from not 0). */
const isZeroCount = (v: unknown): boolean => v === undefined || v === 0 || v === '0%';

/** apps/v1 ValidateDeployment (the parts pilot acts on). */
function validateDeployment(d: Deployment, old?: Deployment): FieldError[] {
  const spec = d.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [];
  for (const f of ['replicas', 'minReadySeconds', 'revisionHistoryLimit'] as const) errs.push(...nonNegativeInt(spec[f], `spec.${f}`));
  errs.push(...validateWorkloadTemplate(spec, old?.spec, 'empty selector is invalid for deployment'));
  const strategy = spec.strategy;
  if (isObj(strategy)) {
    errs.push(...oneOf(strategy.type, 'spec.strategy.type', ['Recreate', 'RollingUpdate']));
    if (strategy.type === 'Recreate' && strategy.rollingUpdate !== undefined)
      errs.push(E.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    const ru = strategy.rollingUpdate;
    if (strategy.type === 'RollingUpdate' && isObj(ru)) {
      errs.push(...intOrPercent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'), ...intOrPercent(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      if (isZeroCount(ru.maxUnavailable) && isZeroCount(ru.maxSurge))
        errs.push(E.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegativeInt(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (Number.isInteger(spec.progressDeadlineSeconds) && spec.progressDeadlineSeconds! <= (spec.minReadySeconds ?? 0))
      errs.push(E.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return errs;
}

/** apps/v1 ValidateReplicaSet. */
function validateReplicaSet(rs: ReplicaSet, old?: ReplicaSet): FieldError[] {
  const spec = rs.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [...nonNegativeInt(spec.replicas, 'spec.replicas'), ...nonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds')];
  errs.push(...validateWorkloadTemplate(spec, old?.spec, 'empty selector is invalid for deployment'));
  return errs;
}

/** apps/v1 ValidateDaemonSet. */
function validateDaemonSet(ds: DaemonSet, old?: DaemonSet): FieldError[] {
  const spec = ds.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [...nonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds'), ...nonNegativeInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit')];
  errs.push(...validateWorkloadTemplate(spec, old?.spec, 'empty selector is not valid for daemonset.'));
  const us = spec.updateStrategy;
  if (isObj(us)) {
    errs.push(...oneOf(us.type, 'spec.updateStrategy.type', ['OnDelete', 'RollingUpdate']));
    if (us.type === 'OnDelete' && us.rollingUpdate !== undefined) errs.push(E.forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
    const ru = us.rollingUpdate;
    if (us.type === 'RollingUpdate' && isObj(ru)) {
      errs.push(...intOrPercent(ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'), ...intOrPercent(ru.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge'));
      if (isZeroCount(ru.maxUnavailable) && isZeroCount(ru.maxSurge))
        errs.push(E.invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  return errs;
}

/** The StatefulSet spec fields an update may change (ValidateStatefulSetUpdate). */
const STATEFULSET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit'];

/** apps/v1 ValidateStatefulSet. */
function validateStatefulSet(sts: StatefulSet, old?: StatefulSet): FieldError[] {
  const spec = sts.spec;
  if (!isObj(spec)) return [E.required('spec')];
  const errs: FieldError[] = [...nonNegativeInt(spec.replicas, 'spec.replicas'), ...nonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds'), ...nonNegativeInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit')];
  errs.push(...validateWorkloadTemplate(spec, undefined, 'empty selector is invalid for statefulset'));
  errs.push(...oneOf(spec.podManagementPolicy, 'spec.podManagementPolicy', ['OrderedReady', 'Parallel']));
  const us = spec.updateStrategy;
  if (isObj(us)) {
    errs.push(...oneOf(us.type, 'spec.updateStrategy.type', ['OnDelete', 'RollingUpdate']));
    if (us.type === 'OnDelete' && us.rollingUpdate !== undefined) errs.push(E.forbidden('spec.updateStrategy.rollingUpdate', "only allowed for updateStrategy 'RollingUpdate'"));
    if (isObj(us.rollingUpdate)) {
      errs.push(...nonNegativeInt(us.rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition'));
      errs.push(...intOrPercent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
    }
  }
  if (isObj(spec.ordinals)) errs.push(...nonNegativeInt(spec.ordinals.start, 'spec.ordinals.start'));
  if (old && isObj(old.spec)) {
    const fixed = (s: Record<string, unknown>) => JSON.stringify(canonical(Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_MUTABLE.includes(k)))));
    if (fixed(spec as Record<string, unknown>) !== fixed(old.spec as Record<string, unknown>))
      errs.push(
        E.forbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

/** apps/v1 ValidateControllerRevision: a revision number, and data that never changes. */
function validateControllerRevision(cr: ControllerRevision, old?: ControllerRevision): FieldError[] {
  const errs: FieldError[] = [];
  if (cr.data === undefined || cr.data === null) errs.push(E.required('data'));
  errs.push(...nonNegativeInt(cr.revision, 'revision'));
  if (old) {
    if (JSON.stringify(canonical(cr.data)) !== JSON.stringify(canonical(old.data))) errs.push(E.invalid('data', '', 'field is immutable'));
    if (cr.revision !== old.revision) errs.push(E.invalid('revision', cr.revision, 'field is immutable'));
  }
  return errs;
}

function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, ss] of (ep.subsets ?? []).entries()) {
    const sp = `subsets[${i}]`;
    const addrs = [
      ...(ss.addresses ?? []).map((a, j) => [a, `${sp}.addresses[${j}]`] as const),
      ...(ss.notReadyAddresses ?? []).map((a, j) => [a, `${sp}.notReadyAddresses[${j}]`] as const),
    ];
    if (addrs.length === 0) errs.push(E.required(`${sp}`, 'must specify `addresses` or `notReadyAddresses`'));
    for (const [a, ap] of addrs) {
      errs.push(...validateEndpointIP(a.ip, `${ap}.ip`));
      if (a.hostname) {
        const err = dns1123LabelError(a.hostname);
        if (err) errs.push(E.invalid(`${ap}.hostname`, a.hostname, err));
      }
      if (a.nodeName) {
        const err = dns1123SubdomainError(a.nodeName);
        if (err) errs.push(E.invalid(`${ap}.nodeName`, a.nodeName, err));
      }
    }
    const ports = ss.ports ?? [];
    const names = new Set<string>();
    for (const [j, p] of ports.entries()) {
      const pp = `${sp}.ports[${j}]`;
      errs.push(...validatePortNumber(p.port, `${pp}.port`));
      errs.push(...validateProtocol(p.protocol, `${pp}.protocol`));
      if (ports.length > 1 && !p.name) errs.push(E.required(`${pp}.name`));
      if (p.name) {
        const err = dns1123LabelError(p.name);
        if (err) errs.push(E.invalid(`${pp}.name`, p.name, err));
        if (names.has(p.name)) errs.push(E.duplicate(`${pp}.name`, p.name));
        names.add(p.name);
      }
    }
  }
  return errs;
}

function validateEndpointSlice(s: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const types = ['IPv4', 'IPv6', 'FQDN'];
  if (!s.addressType) errs.push(E.required('addressType'));
  else errs.push(...oneOf(s.addressType, 'addressType', types));
  if (!Array.isArray(s.endpoints)) errs.push(E.required('endpoints'));
  for (const [i, ep] of (Array.isArray(s.endpoints) ? s.endpoints : []).entries()) {
    const p = `endpoints[${i}]`;
    if (!Array.isArray(ep.addresses) || ep.addresses.length === 0) errs.push(E.required(`${p}.addresses`));
    else if (ep.addresses.length > 100) errs.push(E.tooLong(`${p}.addresses`, ep.addresses.length, 100));
    for (const [j, a] of (ep.addresses ?? []).entries()) {
      const ap = `${p}.addresses[${j}]`;
      if (s.addressType === 'IPv4' && (typeof a !== 'string' || !isIPv4(a))) errs.push(E.invalid(ap, a, 'must be a valid IPv4 address'));
      else if (s.addressType === 'IPv6' && (typeof a !== 'string' || !isIP(a) || isIPv4(a))) errs.push(E.invalid(ap, a, 'must be a valid IPv6 address'));
      else if (s.addressType === 'FQDN') {
        const err = dns1123SubdomainError(String(a));
        if (err) errs.push(E.invalid(ap, a, err));
      }
    }
    if (ep.hostname) {
      const err = dns1123LabelError(ep.hostname);
      if (err) errs.push(E.invalid(`${p}.hostname`, ep.hostname, err));
    }
  }
  const names = new Set<string>();
  for (const [i, port] of (s.ports ?? []).entries()) {
    const pp = `ports[${i}]`;
    if (port.port !== undefined && port.port !== null) errs.push(...validatePortNumber(port.port, `${pp}.port`));
    errs.push(...validateProtocol(port.protocol, `${pp}.protocol`));
    const name = port.name ?? '';
    if (name !== '') {
      const err = dns1123LabelError(name);
      if (err) errs.push(E.invalid(`${pp}.name`, name, err));
    }
    if (names.has(name)) errs.push(E.duplicate(`${pp}.name`, name));
    names.add(name);
  }
  return errs;
}

function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  const cidrs = [...(spec.podCIDR ? [spec.podCIDR] : []), ...(spec.podCIDRs ?? [])];
  for (const [i, c] of cidrs.entries()) {
    const path = i === 0 && spec.podCIDR ? 'spec.podCIDR' : `spec.podCIDRs[${spec.podCIDR ? i - 1 : i}]`;
    try {
      Cidr.parse(c);
    } catch (err) {
      errs.push(E.invalid(path, c, (err as Error).message));
    }
  }
  for (const [i, t] of (spec.taints ?? []).entries()) {
    const tp = `spec.taints[${i}]`;
    if (!t.key) errs.push(E.required(`${tp}.key`));
    else {
      const err = qualifiedNameError(t.key);
      if (err) errs.push(E.invalid(`${tp}.key`, t.key, err));
    }
    if (!t.effect) errs.push(E.required(`${tp}.effect`));
    else errs.push(...oneOf(t.effect, `${tp}.effect`, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
  }
  errs.push(...validateNodeStatus(node));
  return errs;
}

function validateNodeStatus(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, a] of (node.status?.addresses ?? []).entries()) {
    if (!a.type) errs.push(E.required(`status.addresses[${i}].type`));
    if (!a.address) errs.push(E.required(`status.addresses[${i}].address`));
  }
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (port !== undefined && port !== 0) errs.push(...validatePortNumber(port, 'status.daemonEndpoints.kubeletEndpoint.Port'));
  return errs;
}

function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(ev.involvedObject)) return [E.required('involvedObject')];
  if (!ev.involvedObject.kind) errs.push(E.required('involvedObject.kind'));
  if (!ev.involvedObject.name) errs.push(E.required('involvedObject.name'));
  if (ev.involvedObject.namespace && ev.metadata?.namespace && ev.involvedObject.namespace !== ev.metadata.namespace)
    errs.push(E.invalid('involvedObject.namespace', ev.involvedObject.namespace, 'does not match event.namespace'));
  errs.push(...oneOf(ev.type, 'type', ['Normal', 'Warning']));
  if (ev.count !== undefined) errs.push(...nonNegativeInt(ev.count, 'count'));
  if (ev.reason !== undefined && ev.reason.length > 128) errs.push(E.tooLong('reason', ev.reason, 128));
  return errs;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function validateLease(l: Lease): FieldError[] {
  const errs: FieldError[] = [];
  const s = l.spec ?? {};
  if (s.leaseDurationSeconds !== undefined && !(Number.isInteger(s.leaseDurationSeconds) && s.leaseDurationSeconds > 0))
    errs.push(E.invalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'));
  if (s.leaseTransitions !== undefined) errs.push(...nonNegativeInt(s.leaseTransitions, 'spec.leaseTransitions'));
  for (const k of ['acquireTime', 'renewTime'] as const) {
    const v = s[k];
    if (v !== undefined && v !== null && (typeof v !== 'string' || !RFC3339.test(v)))
      errs.push(E.invalid(`spec.${k}`, v, 'must be an RFC3339 time with microseconds, e.g. 2026-01-02T15:04:05.000000Z'));
  }
  return errs;
}

function validateNamespace(ns: Namespace): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, f] of (ns.spec?.finalizers ?? []).entries()) {
    const err = qualifiedNameError(f);
    if (err) errs.push(E.invalid(`spec.finalizers[${i}]`, f, err));
  }
  return errs;
}

// ------------------------------------------------------------------ ConfigMap, Secret

/** The most a ConfigMap's or a Secret's data may hold, all values together (core.MaxSecretSize). */
export const MAX_SECRET_SIZE = 1024 * 1024;

/** Stands in for a Secret's value in an error (upstream never echoes secret contents). */
const REDACTED = '<secret contents redacted>';

function stringMapProblems(m: unknown, path: string): FieldError[] | undefined {
  if (m === undefined || m === null) return undefined;
  if (!isObj(m)) return [E.invalid(path, m, 'must be a map of string keys to string values')];
  return undefined;
}

/** Keys and total size of a data map; `base64` values are checked and counted decoded. */
function validateDataMap(m: Record<string, unknown>, path: string, base64: boolean, redact: boolean): { errs: FieldError[]; size: number } {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(m)) {
    for (const msg of configMapKeyErrors(k)) errs.push(E.invalid(`${path}[${k}]`, k, msg));
    if (typeof v !== 'string') {
      errs.push(E.invalid(`${path}[${k}]`, redact ? REDACTED : v, 'must be a string'));
      continue;
    }
    if (base64) {
      const bad = base64Error(v);
      if (bad) errs.push(E.invalid(`${path}[${k}]`, REDACTED, bad));
      else size += base64DecodedLength(v);
    } else size += Buffer.byteLength(v);
  }
  return { errs, size };
}

function validateImmutableData(obj: ConfigMap | Secret, old: ConfigMap | Secret | undefined, fields: readonly ('data' | 'binaryData')[]): FieldError[] {
  if (!old?.immutable) return [];
  const errs: FieldError[] = [];
  if (!obj.immutable) errs.push(E.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields)
    if (JSON.stringify(canonical(obj[f] ?? {})) !== JSON.stringify(canonical(old[f] ?? {}))) errs.push(E.forbidden(f, 'field is immutable when `immutable` is set'));
  return errs;
}

function validateConfigMap(cm: ConfigMap, old?: ConfigMap): FieldError[] {
  const errs = validateImmutableData(cm, old, ['data', 'binaryData']);
  let size = 0;
  for (const [field, base64] of [['data', false], ['binaryData', true]] as const) {
    const m = cm[field];
    const shape = stringMapProblems(m, field);
    if (shape) errs.push(...shape);
    else if (m) {
      const r = validateDataMap(m, field, base64, false);
      errs.push(...r.errs);
      size += r.size;
    }
  }
  for (const k of Object.keys(isObj(cm.data) ? cm.data : {}))
    if (isObj(cm.binaryData) && Object.hasOwn(cm.binaryData, k)) errs.push(E.invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
  if (size > MAX_SECRET_SIZE) errs.push(E.tooLong('', '', MAX_SECRET_SIZE));
  return errs;
}

/** The keys each known Secret type must carry in `data` (upstream's ValidateSecret). */
const SECRET_REQUIRED_KEYS: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};
const SECRET_JSON_KEYS: Readonly<Record<string, string>> = {
  'kubernetes.io/dockercfg': '.dockercfg',
  'kubernetes.io/dockerconfigjson': '.dockerconfigjson',
};

function validateSecret(sec: Secret, old?: Secret): FieldError[] {
  const errs = validateImmutableData(sec, old, ['data']);
  if (old && (old.type ?? 'Opaque') !== (sec.type ?? 'Opaque')) errs.push(E.invalid('type', sec.type, 'field is immutable'));
  if (sec.stringData !== undefined) errs.push(E.invalid('stringData', '', 'must be a map of string keys to string values'));
  const shape = stringMapProblems(sec.data, 'data');
  if (shape) return [...errs, ...shape];
  const data = (sec.data ?? {}) as Record<string, unknown>;
  const r = validateDataMap(data, 'data', true, true);
  errs.push(...r.errs);
  if (r.size > MAX_SECRET_SIZE) errs.push(E.tooLong('data', '', MAX_SECRET_SIZE));
  const type = sec.type ?? 'Opaque';
  if (typeof type !== 'string') return [...errs, E.invalid('type', type, 'must be a string')];
  if (type === 'kubernetes.io/service-account-token') {
    if (!sec.metadata?.annotations?.['kubernetes.io/service-account.name']) errs.push(E.required('metadata.annotations[kubernetes.io/service-account.name]'));
  } else if (type === 'kubernetes.io/basic-auth') {
    if (!Object.hasOwn(data, 'username') && !Object.hasOwn(data, 'password')) errs.push(E.required('data[username]'), E.required('data[password]'));
  }
  for (const k of SECRET_REQUIRED_KEYS[type] ?? []) {
    const v = data[k];
    if (v === undefined || (type === 'kubernetes.io/ssh-auth' && v === '')) errs.push(E.required(`data[${k}]`));
  }
  const jsonKey = SECRET_JSON_KEYS[type];
  const raw = jsonKey !== undefined ? data[jsonKey] : undefined;
  if (jsonKey !== undefined && typeof raw === 'string' && !base64Error(raw)) {
    let ok = false;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
      ok = isObj(parsed);
    } catch {
      ok = false;
    }
    if (!ok) errs.push(E.invalid(`data[${jsonKey}]`, REDACTED, 'must be a JSON object'));
  }
  return errs;
}

function validateBinding(b: KubeObject): FieldError[] {
  const target = b.target as { name?: string; kind?: string } | undefined;
  if (!isObj(target)) return [E.required('target')];
  const errs: FieldError[] = [];
  if (!target.name) errs.push(E.required('target.name'));
  if (target.kind && target.kind !== 'Node') errs.push(E.notSupported('target.kind', target.kind, ['Node']));
  return errs;
}

function validateScale(s: KubeObject): FieldError[] {
  const spec = s.spec as { replicas?: number } | undefined;
  return nonNegativeInt(spec?.replicas, 'spec.replicas');
}

/** Kind-specific rules by resource (plural); metadata is checked for every kind. */
const KIND_VALIDATORS: Readonly<Record<string, (obj: KubeObject, old?: KubeObject) => FieldError[]>> = {
  pods: (o, old) => validatePod(o as Pod, old as Pod | undefined),
  services: (o, old) => validateService(o as Service, old as Service | undefined),
  replicationcontrollers: (o) => validateRC(o as ReplicationController),
  endpoints: (o) => validateEndpoints(o as Endpoints),
  endpointslices: (o) => validateEndpointSlice(o as EndpointSlice),
  nodes: (o) => validateNode(o as Node),
  events: (o) => validateEvent(o as Event),
  leases: (o) => validateLease(o as Lease),
  namespaces: (o) => validateNamespace(o as Namespace),
  configmaps: (o, old) => validateConfigMap(o as ConfigMap, old as ConfigMap | undefined),
  secrets: (o, old) => validateSecret(o as Secret, old as Secret | undefined),
  jobs: (o, old) => validateJob(o as Job, old as Job | undefined),
  poddisruptionbudgets: (o) => validatePodDisruptionBudget(o as PodDisruptionBudget),
  deployments: (o, old) => validateDeployment(o as Deployment, old as Deployment | undefined),
  replicasets: (o, old) => validateReplicaSet(o as ReplicaSet, old as ReplicaSet | undefined),
  daemonsets: (o, old) => validateDaemonSet(o as DaemonSet, old as DaemonSet | undefined),
  statefulsets: (o, old) => validateStatefulSet(o as StatefulSet, old as StatefulSet | undefined),
  controllerrevisions: (o, old) => validateControllerRevision(o as ControllerRevision, old as ControllerRevision | undefined),
};

/**
 * The rules of a status update (the /status subresource), kube-apiserver's
 * Validate<Kind>StatusUpdate: the status only, beside the metadata update
 * rules. Everything but the status is the stored object's (the status
 * strategy kept it), accepted when it was written: judging its spec again
 * would refuse a status write for a rule added since, and walk a whole pod
 * spec per kubelet status report.
 */
const STATUS_VALIDATORS: Readonly<Record<string, (obj: KubeObject) => FieldError[]>> = {
  pods: (o) => validatePodStatus(o as Pod),
  services: (o) => validateServiceStatus(o as Service),
  nodes: (o) => validateNodeStatus(o as Node),
  replicationcontrollers: (o) => validateReplicaCounts(o.status, REPLICA_COUNTS),
  replicasets: (o) => validateReplicaCounts(o.status, REPLICA_COUNTS),
  deployments: (o) => validateReplicaCounts(o.status, ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'observedGeneration', 'collisionCount']),
  statefulsets: (o) => validateReplicaCounts(o.status, ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration', 'collisionCount']),
  daemonsets: (o) => validateReplicaCounts(o.status, ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'observedGeneration', 'collisionCount']),
  jobs: (o) => validateReplicaCounts(o.status, ['active', 'succeeded', 'failed']),
};

/** A status update of `resource` (see STATUS_VALIDATORS): the metadata update rules and the status's. */
export function validateStatusUpdate(resource: string, obj: KubeObject, old: KubeObject): FieldError[] {
  if (!isObj(obj)) return [E.invalid('', obj, 'must be a JSON object')];
  const res = plural(resource);
  const errs = validateMeta(res, obj.metadata, resourceByName(res)?.namespaced ?? true, old);
  const statusRules = STATUS_VALIDATORS[res];
  if (statusRules) errs.push(...statusRules(obj));
  return errs;
}

/**
 * Validates an object of `resource` (plural, e.g. `pods`; `bindings` and
 * `scale` are accepted for those request bodies). Pass `old` on update to get
 * the immutability checks (names, clusterIP, pod spec). Returns [] when valid.
 *
 * The apiserver is expected to have set metadata.namespace from the URL and
 * to carry allocated values (a Service's clusterIP/nodePorts) from `old` into
 * an update that omits them, as Kubernetes does, before validating.
 */
export function validateObject(resource: string, obj: KubeObject, old?: KubeObject): FieldError[] {
  if (!isObj(obj)) return [E.invalid('', obj, 'must be a JSON object')];
  const res = plural(resource);
  if (res === 'bindings' || res === 'binding') return [...validateBindingMeta(obj), ...validateBinding(obj)];
  if (res === 'scale') return validateScale(obj);
  const info = resourceByName(res);
  const errs = validateMeta(res, obj.metadata, info?.namespaced ?? true, old);
  const kindRules = KIND_VALIDATORS[res];
  if (kindRules) errs.push(...kindRules(obj, old));
  return errs;
}

function validateBindingMeta(b: KubeObject): FieldError[] {
  return b.metadata?.name ? [] : [E.required('metadata.name')];
}

// ------------------------------------------------------------------ defaulting

/** JSON-order-independent copy used to compare specs. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObj(v)) {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = canonical(o[k]);
    return out;
  }
  return v;
}

/** Deep copy of a JSON value (API objects are plain JSON). */
export function deepCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function imagePullPolicyFor(image: string | undefined): 'Always' | 'IfNotPresent' {
  // Defaulting runs before validation, which refuses an image that is no string.
  if (typeof image !== 'string' || !image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  const tag = colon >= 0 ? last.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

function defaultContainer(c: Container): void {
  if (!isObj(c)) return;
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  c.imagePullPolicy ??= imagePullPolicyFor(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
}

export function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!isObj(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
}

function defaultService(svc: Service): void {
  if (!isObj(svc.spec)) return;
  const spec = svc.spec;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  if (spec.type !== 'ExternalName') {
    for (const p of spec.ports ?? []) {
      if (!isObj(p)) continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
    if (spec.clusterIP && spec.clusterIP !== '' && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  } else {
    for (const p of spec.ports ?? []) if (isObj(p)) p.protocol ??= 'TCP';
  }
}

function defaultRC(rc: ReplicationController): void {
  if (!isObj(rc.spec)) return;
  const spec = rc.spec;
  spec.replicas ??= 1;
  const tmplLabels = spec.template?.metadata?.labels;
  if (tmplLabels && Object.keys(tmplLabels).length) {
    if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...tmplLabels };
    if (!rc.metadata.labels || Object.keys(rc.metadata.labels).length === 0) rc.metadata.labels = { ...tmplLabels };
  }
  if (spec.template) defaultPodSpec(spec.template.spec);
}

/**
 * batch/v1 SetDefaults_Job: neither count set means one pod once; parallelism
 * alone leaves completions unset (any one success finishes the Job);
 * backoffLimit 6; a Job without labels takes its template's.
 */
function defaultJob(job: Job): void {
  if (!isObj(job.spec)) return;
  const spec = job.spec;
  if ((spec.completions === undefined || spec.completions === null) && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  const tmplLabels = spec.template?.metadata?.labels;
  if (tmplLabels && Object.keys(tmplLabels).length && (!job.metadata.labels || Object.keys(job.metadata.labels).length === 0)) job.metadata.labels = { ...tmplLabels };
  if (spec.template) defaultPodSpec(spec.template.spec);
}

/**
 * apps/v1 SetDefaults_Deployment: one replica, RollingUpdate 25 %/25 %,
 * revisionHistoryLimit 10, progressDeadlineSeconds 600.
 */
function defaultDeployment(d: Deployment): void {
  if (!isObj(d.spec)) return;
  const spec = d.spec;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  if (spec.template) defaultPodSpec(spec.template.spec);
}

function defaultReplicaSet(rs: ReplicaSet): void {
  if (!isObj(rs.spec)) return;
  rs.spec.replicas ??= 1;
  if (rs.spec.template) defaultPodSpec(rs.spec.template.spec);
}

/** SetDefaults_DaemonSet: RollingUpdate, maxUnavailable 1, maxSurge 0, revisionHistoryLimit 10. */
function defaultDaemonSet(ds: DaemonSet): void {
  if (!isObj(ds.spec)) return;
  const spec = ds.spec;
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  if (spec.template) defaultPodSpec(spec.template.spec);
}

/** SetDefaults_StatefulSet: OrderedReady, RollingUpdate from partition 0, one replica, revisionHistoryLimit 10, Retain claims. */
function defaultStatefulSet(sts: StatefulSet): void {
  if (!isObj(sts.spec)) return;
  const spec = sts.spec;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.partition ??= 0;
  }
  spec.persistentVolumeClaimRetentionPolicy ??= {};
  spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
  spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  if (spec.template) defaultPodSpec(spec.template.spec);
}

/**
 * A Secret's type defaults to Opaque; `stringData` is write-only plain text:
 * each value is folded into `data` (base64, overwriting a key both carry) and
 * the field goes, as upstream's v1 conversion does, so it is never stored.
 */
function defaultSecret(sec: Secret): void {
  if (sec.type === undefined || sec.type === '') sec.type = 'Opaque';
  const sd = sec.stringData as unknown;
  if (sd === undefined || sd === null) {
    delete sec.stringData;
    return;
  }
  if (!isObj(sd)) return; // left for validation to refuse
  const data: Record<string, string> = isObj(sec.data) ? { ...sec.data } : {};
  // A value that is not a string lands in data as it is, for validation to name.
  for (const [k, v] of Object.entries(sd as Record<string, unknown>)) (data as Record<string, unknown>)[k] = typeof v === 'string' ? Buffer.from(v, 'utf8').toString('base64') : v;
  sec.data = data;
  delete sec.stringData;
}

/**
 * Returns a defaulted deep copy of `obj` (a `resource`, plural). Never mutates
 * its input. Defaults follow Kubernetes v1 defaulting for the fields we serve.
 */
export function defaultObject<T extends KubeObject>(resource: string, obj: T): T {
  const out = deepCopy(obj);
  if (!isObj(out)) return out;
  if (!isObj(out.metadata)) (out as KubeObject).metadata = {};
  switch (plural(resource)) {
    case 'pods':
      defaultPodSpec((out as unknown as Pod).spec);
      break;
    case 'services':
      defaultService(out as unknown as Service);
      break;
    case 'replicationcontrollers':
      defaultRC(out as unknown as ReplicationController);
      break;
    case 'jobs':
      defaultJob(out as unknown as Job);
      break;
    case 'deployments':
      defaultDeployment(out as unknown as Deployment);
      break;
    case 'replicasets':
      defaultReplicaSet(out as unknown as ReplicaSet);
      break;
    case 'daemonsets':
      defaultDaemonSet(out as unknown as DaemonSet);
      break;
    case 'statefulsets':
      defaultStatefulSet(out as unknown as StatefulSet);
      break;
    case 'endpoints':
      for (const ss of (out as unknown as Endpoints).subsets ?? []) for (const p of ss.ports ?? []) p.protocol ??= 'TCP';
      break;
    case 'endpointslices':
      for (const p of (out as unknown as EndpointSlice).ports ?? []) p.protocol ??= 'TCP';
      break;
    case 'namespaces': {
      const ns = out as unknown as Namespace;
      ns.spec ??= {};
      ns.spec.finalizers ??= ['kubernetes'];
      ns.status ??= {};
      ns.status.phase ??= 'Active';
      break;
    }
    case 'nodes': {
      const node = out as unknown as Node;
      if (node.status?.capacity && !node.status.allocatable) node.status.allocatable = { ...node.status.capacity };
      break;
    }
    case 'events': {
      const ev = out as unknown as Event;
      ev.type ??= 'Normal';
      break;
    }
    case 'secrets':
      defaultSecret(out as unknown as Secret);
      break;
  }
  return out;
}
