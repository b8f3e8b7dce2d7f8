import { createHash } from 'node:crypto';
import type { Container as ApiContainer, Pod } from '@pilot/api';
import type { ContainerStatus, PodSandboxStatus } from './runtime/runtime.js';

/**
 * What the kubelet knows of one pod from the runtime (kubecontainer.PodStatus):
 * its sandboxes and every instance of every container, newest first, and
 * the kubelet's own annotations read back from each container, so a
 * restarted kubelet finds restart counts and spec hashes where it left them.
 */

export interface RuntimePodStatus {
  uid: string;
  name: string;
  namespace: string;
  /** The newest ready sandbox's IPs (none for hostNetwork pods). */
  ips: string[];
  /** Newest first. */
  sandboxes: PodSandboxStatus[];
  /** Every instance, newest first (by restart attempt, then creation). */
  containers: ContainerStatus[];
}

/** Annotations the kubelet puts on every container (kuberuntime labels.go). */
export const CONTAINER_ANNOTATIONS = {
  hash: 'io.kubernetes.container.hash',
  restartCount: 'io.kubernetes.container.restartCount',
  terminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  gracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
  /** Which list of the spec the container comes from (pilot: init vs app; upstream infers it). */
  kind: 'io.kubernetes.container.kind',
} as const;

export function restartCountOf(c: ContainerStatus): number {
  const n = Number(c.annotations[CONTAINER_ANNOTATIONS.restartCount]);
  return Number.isInteger(n) && n >= 0 ? n : c.metadata.attempt;
}

/** A stable hash of the container's spec (HashContainer): a changed spec restarts the container. */
export function hashContainer(c: ApiContainer): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canon(c))).digest('hex').slice(0, 8);
}

/** The newest instance of the named container. */
export function latestInstance(status: RuntimePodStatus, name: string): ContainerStatus | undefined {
  return status.containers.find((c) => c.metadata.name === name);
}

export function sortNewestFirst(cs: ContainerStatus[]): ContainerStatus[] {
  return cs.sort((a, b) => restartCountOf(b) - restartCountOf(a) || b.createdAt - a.createdAt);
}

/** `<name>_<namespace>(<uid>)`, as the kubelet names pods in messages (format.Pod). */
export function formatPod(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

export function containerIdUri(id: string): string {
  return `docker://${id}`;
}

/**
 * Whether a container that is not running is to be (re)started
 * (kubecontainer.ShouldContainerBeRestarted): never created → yes; running →
 * no; exited → by the pod's restartPolicy (OnFailure: only after a failure).
 */
export function shouldContainerBeRestarted(container: ApiContainer, pod: Pod, status: RuntimePodStatus): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const latest = latestInstance(status, container.name);
  if (!latest) return true;
  if (latest.state === 'CONTAINER_RUNNING') return false;
  if (latest.state === 'CONTAINER_UNKNOWN' || latest.state === 'CONTAINER_CREATED') return true;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && latest.exitCode === 0) return false;
  return true;
}
