import type { ContainerInfo, ContainerInspectInfo, ImageInfo, ImageInspectInfo } from 'dockerode';
import { LABELS, extractLabels, parseName } from './naming.js';
import type { Container, ContainerState, ContainerStatus, Image, Mount, PodSandbox, PodSandboxMetadata, PodSandboxState, PodSandboxStatus } from './runtime.js';

/**
 * Docker's view → CRI's, as cri-dockerd maps it (core/container_status.go,
 * core/sandbox_status.go, core/convert.go). Pure.
 */

/** Docker's RFC3339Nano time → epoch ms; undefined for Docker's zero time (0001-01-01). */
export function dockerTime(t: string | undefined): number | undefined {
  if (!t || t.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Container state and terminated reason, cri-dockerd's three cases for a
 * container that is not running: it ran and exited (finishedAt set:
 * OOMKilled, Completed or Error); it failed to start (no finishedAt but a
 * non-zero exit code: ContainerCannotRun, times pinned to createdAt); or it
 * was only created.
 */
export function containerStatusOf(info: ContainerInspectInfo): ContainerStatus {
  const s = info.State;
  const createdAt = dockerTime(info.Created) ?? 0;
  let startedAt = dockerTime(s.StartedAt);
  let finishedAt = dockerTime(s.FinishedAt);
  let state: ContainerState;
  let reason: string | undefined;
  let message: string | undefined;
  if (s.Running) {
    state = 'CONTAINER_RUNNING';
  } else {
    if (finishedAt !== undefined) {
      state = 'CONTAINER_EXITED';
      reason = s.OOMKilled ? 'OOMKilled' : s.ExitCode === 0 ? 'Completed' : 'Error';
    } else if (s.ExitCode !== 0) {
      state = 'CONTAINER_EXITED';
      reason = 'ContainerCannotRun';
      startedAt = createdAt;
      finishedAt = createdAt;
    } else {
      state = 'CONTAINER_CREATED';
    }
    message = s.Error || undefined;
  }
  const labels = info.Config.Labels ?? {};
  const parsed = parseName(info.Name);
  const { labels: kubeLabels, annotations } = extractLabels(labels);
  return {
    id: info.Id,
    podSandboxId: labels[LABELS.sandboxId] ?? '',
    metadata: { name: labels[LABELS.containerName] ?? parsed?.containerName ?? '', attempt: parsed?.attempt ?? 0 },
    image: info.Config.Image,
    imageRef: info.Image,
    state,
    createdAt,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    exitCode: s.ExitCode,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    labels: kubeLabels,
    annotations,
    mounts: (info.Mounts ?? []).map((m): Mount => ({ containerPath: m.Destination, hostPath: m.Source, readonly: !m.RW })),
    ...(labels[LABELS.logPath] ? { logPath: labels[LABELS.logPath] } : {}),
  };
}

/** List entries carry Docker's one-word state. */
export function listState(state: string): ContainerState {
  switch (state) {
    case 'running':
      return 'CONTAINER_RUNNING';
    case 'exited':
    case 'dead':
      return 'CONTAINER_EXITED';
    case 'created':
      return 'CONTAINER_CREATED';
    default:
      return 'CONTAINER_UNKNOWN';
  }
}

export function containerOf(c: ContainerInfo): Container {
  const parsed = parseName(c.Names[0] ?? '');
  const { labels, annotations } = extractLabels(c.Labels);
  return {
    id: c.Id,
    podSandboxId: c.Labels[LABELS.sandboxId] ?? '',
    metadata: { name: c.Labels[LABELS.containerName] ?? parsed?.containerName ?? '', attempt: parsed?.attempt ?? 0 },
    image: c.Image,
    imageRef: c.ImageID,
    state: listState(c.State),
    createdAt: c.Created * 1000,
    labels,
    annotations,
  };
}

/** Pod identity from the labels (authoritative) and the name (attempt). */
function sandboxMetadata(name: string, labels: Record<string, string>): PodSandboxMetadata {
  const parsed = parseName(name);
  return {
    name: labels[LABELS.podName] ?? parsed?.pod.name ?? '',
    namespace: labels[LABELS.podNamespace] ?? parsed?.pod.namespace ?? '',
    uid: labels[LABELS.podUid] ?? parsed?.pod.uid ?? '',
    attempt: parsed?.attempt ?? 0,
  };
}

export function sandboxOf(c: ContainerInfo): PodSandbox {
  const { labels, annotations } = extractLabels(c.Labels);
  return {
    id: c.Id,
    metadata: sandboxMetadata(c.Names[0] ?? '', c.Labels),
    state: c.State === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    createdAt: c.Created * 1000,
    labels,
    annotations,
  };
}

/** The bridge address: per-network first (newer APIs drop the top-level field), then the legacy one. */
export function containerIp(info: ContainerInspectInfo): string | undefined {
  for (const n of Object.values(info.NetworkSettings?.Networks ?? {})) if (n.IPAddress) return n.IPAddress;
  return (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || undefined;
}

export function sandboxStatusOf(info: ContainerInspectInfo): PodSandboxStatus {
  const labels = info.Config.Labels ?? {};
  const { labels: kubeLabels, annotations } = extractLabels(labels);
  const hostNetwork = info.HostConfig.NetworkMode === 'host';
  const state: PodSandboxState = info.State.Running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
  const ip = hostNetwork ? undefined : containerIp(info);
  return {
    id: info.Id,
    metadata: sandboxMetadata(info.Name, labels),
    state,
    createdAt: dockerTime(info.Created) ?? 0,
    labels: kubeLabels,
    annotations,
    network: { ...(ip ? { ip } : {}), additionalIps: [] },
    hostNetwork,
  };
}

export function imageOf(i: ImageInfo | ImageInspectInfo): Image {
  return {
    id: i.Id,
    repoTags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repoDigests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    size: i.Size,
  };
}
