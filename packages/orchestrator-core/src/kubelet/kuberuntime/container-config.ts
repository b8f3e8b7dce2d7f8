import type { Container as ApiContainer, ConfigMap, EnvVar, Pod, Secret } from '@pilot/api';
import { CONTAINER_ANNOTATIONS, hashContainer } from '../container.js';
import { linuxResources } from '../runtime/docker-spec.js';
import type { ContainerConfig, DnsConfig, KeyValue, Mount, PodSandboxConfig, PortMapping } from '../runtime/runtime.js';

/**
 * A pod and one of its containers → the CRI configs the runtime runs
 * (kuberuntime_sandbox.go generatePodSandboxConfig,
 * kuberuntime_container.go generateContainerConfig, kubelet_pods.go
 * makeEnvironmentVariables). Pure: ConfigMaps and Secrets come in looked up.
 */

/** A container whose config cannot be made (upstream CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** Linux host names are at most 63 characters (truncated as upstream, without a trailing - or .). */
export function podHostname(pod: Pod): string {
  const h = pod.spec?.hostname || pod.metadata.name || '';
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, '') : h;
}

export function generatePodSandboxConfig(pod: Pod, attempt: number, dns: DnsConfig | undefined): PodSandboxConfig {
  const ports: PortMapping[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      ports.push({ protocol: (p.protocol ?? 'TCP') as PortMapping['protocol'], containerPort: p.containerPort, hostPort: p.hostPort, ...(p.hostIP ? { hostIp: p.hostIP } : {}) });
    }
  }
  return {
    metadata: { name: pod.metadata.name!, namespace: pod.metadata.namespace!, uid: pod.metadata.uid!, attempt },
    hostname: podHostname(pod),
    ...(dns ? { dnsConfig: dns } : {}),
    ...(ports.length ? { portMappings: ports } : {}),
    labels: { ...(pod.metadata.labels ?? {}) },
    annotations: { ...(pod.metadata.annotations ?? {}) },
    ...(pod.spec?.hostNetwork ? { hostNetwork: true } : {}),
  };
}

/** What env references resolve against. */
export interface EnvSources {
  nodeName: string;
  hostIp: string;
  podIps: readonly string[];
  /** undefined when it does not exist. */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** `$(VAR)` references expanded from `env`; `$$(VAR)` stays literal `$(VAR)`; unknown ones stay as written (expansion.Expand). */
export function expand(input: string, env: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => {
    if (m === '$$') return '$';
    return env.has(name!) ? env.get(name!)! : m;
  });
}

function fieldRef(pod: Pod, path: string, src: EnvSources): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? src.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return src.hostIp;
    case 'status.hostIPs':
      return src.hostIp;
    case 'status.podIP':
      return src.podIps[0] ?? '';
    case 'status.podIPs':
      return src.podIps.join(',');
  }
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return (label[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[label[2]!] ?? '';
  throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
}

export function decodeSecret(s: Secret, key: string): string | undefined {
  const v = s.data?.[key];
  if (v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
  return s.stringData?.[key];
}

async function valueFrom(pod: Pod, e: EnvVar, src: EnvSources): Promise<string | undefined> {
  const ns = pod.metadata.namespace ?? 'default';
  const from = e.valueFrom!;
  if (from.fieldRef) return fieldRef(pod, from.fieldRef.fieldPath, src);
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const cm = await src.configMap(ns, ref.name ?? '');
    if (!cm) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`configmap "${ref.name}" not found`);
    }
    const v = cm.data?.[ref.key];
    if (v === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
    return v;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const s = await src.secret(ns, ref.name ?? '');
    if (!s) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`secret "${ref.name}" not found`);
    }
    const v = decodeSecret(s, ref.key);
    if (v === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
    return v;
  }
  if (from.resourceFieldRef) return '';
  return undefined;
}

interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

/** The container's environment, in order: envFrom, then env (later wins), each value expanded against the ones before. */
export async function makeEnvironmentVariables(pod: Pod, c: ApiContainer, src: EnvSources): Promise<KeyValue[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const env = new Map<string, string>();
  for (const f of ((c as { envFrom?: EnvFromSource[] }).envFrom ?? [])) {
    let data: Record<string, string> | undefined;
    if (f.configMapRef) {
      const cm = await src.configMap(ns, f.configMapRef.name ?? '');
      if (!cm && !f.configMapRef.optional) throw new ContainerConfigError(`configmap "${f.configMapRef.name}" not found`);
      data = cm?.data;
    } else if (f.secretRef) {
      const s = await src.secret(ns, f.secretRef.name ?? '');
      if (!s && !f.secretRef.optional) throw new ContainerConfigError(`secret "${f.secretRef.name}" not found`);
      data = s ? Object.fromEntries(Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) }).map((k) => [k, decodeSecret(s, k) ?? ''])) : undefined;
    }
    for (const [k, v] of Object.entries(data ?? {})) env.set(`${f.prefix ?? ''}${k}`, v);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const v = await valueFrom(pod, e, src);
      if (v !== undefined) env.set(e.name, v);
    } else env.set(e.name, expand(e.value ?? '', env));
  }
  return [...env].map(([key, value]) => ({ key, value }));
}

export interface ContainerConfigInputs {
  restartCount: number;
  envs: KeyValue[];
  mounts: Mount[];
  kind: 'init' | 'app';
}

export function generateContainerConfig(pod: Pod, c: ApiContainer, image: string, inputs: ContainerConfigInputs): ContainerConfig {
  const env = new Map(inputs.envs.map((e) => [e.key, e.value]));
  const grace = pod.spec?.terminationGracePeriodSeconds;
  return {
    metadata: { name: c.name, attempt: inputs.restartCount },
    image,
    ...(c.command?.length ? { command: c.command.map((x) => expand(x, env)) } : {}),
    ...(c.args?.length ? { args: c.args.map((x) => expand(x, env)) } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    envs: inputs.envs,
    mounts: inputs.mounts,
    labels: {},
    annotations: {
      [CONTAINER_ANNOTATIONS.hash]: hashContainer(c),
      [CONTAINER_ANNOTATIONS.restartCount]: String(inputs.restartCount),
      [CONTAINER_ANNOTATIONS.terminationMessagePath]: c.terminationMessagePath ?? '/dev/termination-log',
      [CONTAINER_ANNOTATIONS.kind]: inputs.kind,
      ...(grace !== undefined ? { [CONTAINER_ANNOTATIONS.gracePeriod]: String(grace) } : {}),
    },
    ...(c.stdin ? { stdin: true, stdinOnce: (c as { stdinOnce?: boolean }).stdinOnce ?? false } : {}),
    ...(c.tty ? { tty: true } : {}),
    resources: linuxResources(c.resources),
  };
}
