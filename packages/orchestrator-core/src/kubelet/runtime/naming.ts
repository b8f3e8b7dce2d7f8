import type { ContainerMetadata, PodSandboxMetadata } from './runtime.js';

/**
 * Docker names and labels exactly as dockershim / cri-dockerd made them
 * (core/naming.go, config/constants.go), so `docker ps` reads as it always
 * did and the kubelet finds its containers after a restart:
 *
 *   k8s_POD_<pod>_<namespace>_<uid>_<attempt>                sandbox (pause)
 *   k8s_<container>_<pod>_<namespace>_<uid>_<attempt>        app container
 *
 * A random `_<8 hex>` suffix is added only when Docker reports a name
 * conflict; the parser accepts 6 or 7 parts.
 */

export const KUBE_PREFIX = 'k8s';
export const POD_INFRA_CONTAINER_NAME = 'POD';
const DELIMITER = '_';

export const LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  containerType: 'io.kubernetes.docker.type',
  sandboxId: 'io.kubernetes.sandbox.id',
  logPath: 'io.kubernetes.container.logpath',
} as const;

export const CONTAINER_TYPE = { sandbox: 'podsandbox', container: 'container' } as const;
/** Annotations travel as labels with this prefix (Docker has no annotations). */
export const ANNOTATION_PREFIX = 'annotation.';

export function makeSandboxName(m: PodSandboxMetadata): string {
  return [KUBE_PREFIX, POD_INFRA_CONTAINER_NAME, m.name, m.namespace, m.uid, String(m.attempt)].join(DELIMITER);
}

export function makeContainerName(s: PodSandboxMetadata, c: ContainerMetadata): string {
  return [KUBE_PREFIX, c.name, s.name, s.namespace, s.uid, String(c.attempt)].join(DELIMITER);
}

/** The name with the conflict suffix cri-dockerd adds when Docker says the name is taken. */
export function withRandomSuffix(name: string, random: number = Math.floor(Math.random() * 0x100000000)): string {
  return `${name}${DELIMITER}${(random >>> 0).toString(16).padStart(8, '0')}`;
}

export interface ParsedName {
  containerName: string;
  pod: PodSandboxMetadata;
  attempt: number;
}

/**
 * Parses a name made above (Docker reports names with a leading `/`).
 * Returns undefined for a name that is not the kubelet's.
 */
export function parseName(dockerName: string): ParsedName | undefined {
  const parts = dockerName.replace(/^\//, '').split(DELIMITER);
  if (parts[0] !== KUBE_PREFIX || (parts.length !== 6 && parts.length !== 7)) return undefined;
  const attempt = Number(parts[5]);
  if (!Number.isInteger(attempt) || attempt < 0) return undefined;
  return {
    containerName: parts[1]!,
    pod: { name: parts[2]!, namespace: parts[3]!, uid: parts[4]!, attempt },
    attempt,
  };
}

/** The kubelet's labels plus annotations as `annotation.` labels (cri-dockerd makeLabels). */
export function makeLabels(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  for (const [k, v] of Object.entries(annotations)) out[`${ANNOTATION_PREFIX}${k}`] = v;
  return out;
}

const INTERNAL = new Set<string>([LABELS.containerType, LABELS.sandboxId, LABELS.logPath]);

/** Splits Docker labels back into the kubelet's labels and annotations, internal labels dropped (cri-dockerd extractLabels). */
export function extractLabels(dockerLabels: Record<string, string> | undefined): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(dockerLabels ?? {})) {
    if (INTERNAL.has(k)) continue;
    if (k.startsWith(ANNOTATION_PREFIX)) annotations[k.slice(ANNOTATION_PREFIX.length)] = v;
    else labels[k] = v;
  }
  return { labels, annotations };
}

/** Labels every sandbox carries (the kubelet's own plus the pod identity and the type). */
export function sandboxLabels(m: PodSandboxMetadata, labels?: Record<string, string>, annotations?: Record<string, string>): Record<string, string> {
  return {
    ...makeLabels(labels, annotations),
    [LABELS.podName]: m.name,
    [LABELS.podNamespace]: m.namespace,
    [LABELS.podUid]: m.uid,
    [LABELS.containerType]: CONTAINER_TYPE.sandbox,
  };
}

export function containerLabels(
  sandboxId: string,
  s: PodSandboxMetadata,
  c: ContainerMetadata,
  labels?: Record<string, string>,
  annotations?: Record<string, string>,
  logPath?: string,
): Record<string, string> {
  return {
    ...makeLabels(labels, annotations),
    [LABELS.podName]: s.name,
    [LABELS.podNamespace]: s.namespace,
    [LABELS.podUid]: s.uid,
    [LABELS.containerName]: c.name,
    [LABELS.containerType]: CONTAINER_TYPE.container,
    [LABELS.sandboxId]: sandboxId,
    ...(logPath ? { [LABELS.logPath]: logPath } : {}),
  };
}
