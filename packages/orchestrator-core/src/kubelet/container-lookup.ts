import { LABELS } from './runtime/naming.js';
import type { Container, ContainerRuntime, PodSandbox } from './runtime/runtime.js';

/**
 * Which sandbox and which container run a pod's `ns/name/container`, read
 * from the runtime by the `io.kubernetes.*` labels the kubelet gives every
 * sandbox and container (as kuberuntime does). The kubelet API server needs
 * nothing else to find its way; the kubelet core may hand it a lookup of its
 * own (its pod cache) instead.
 */
export interface ContainerLookup {
  /** The sandbox of the pod (of that uid when given), or undefined. */
  podSandboxId(namespace: string, name: string, uid?: string): Promise<string | undefined>;
  /**
   * The container named `container` in the pod; with `previous`, the
   * instance before the newest one (what `kubectl logs --previous` shows).
   */
  containerId(namespace: string, name: string, uid: string | undefined, container: string, previous: boolean): Promise<string | undefined>;
}

/** The ready sandbox, else the newest (a pod recreated under one name leaves older ones). */
export function pickSandbox(sandboxes: readonly PodSandbox[]): PodSandbox | undefined {
  const newest = [...sandboxes].sort((a, b) => b.createdAt - a.createdAt);
  return newest.find((s) => s.state === 'SANDBOX_READY') ?? newest[0];
}

/**
 * Instances of one container, newest first by restart attempt (then
 * creation): the first is the current one, the second the previous.
 */
export function pickContainer(instances: readonly Container[], previous: boolean): Container | undefined {
  const newest = [...instances].sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAt - a.createdAt);
  return newest[previous ? 1 : 0];
}

export function runtimeLookup(runtime: Pick<ContainerRuntime, 'listPodSandbox' | 'listContainers'>): ContainerLookup {
  const podLabels = (namespace: string, name: string, uid?: string) => ({
    [LABELS.podNamespace]: namespace,
    [LABELS.podName]: name,
    ...(uid ? { [LABELS.podUid]: uid } : {}),
  });
  return {
    async podSandboxId(namespace, name, uid) {
      return pickSandbox(await runtime.listPodSandbox({ labelSelector: podLabels(namespace, name, uid) }))?.id;
    },
    async containerId(namespace, name, uid, container, previous) {
      const sandbox = await this.podSandboxId(namespace, name, uid);
      const selector = { ...podLabels(namespace, name, uid), [LABELS.containerName]: container };
      // The containers of the current sandbox first; a previous instance may
      // belong to a sandbox that was replaced, so fall back to all of them.
      let instances = sandbox ? await runtime.listContainers({ podSandboxId: sandbox, labelSelector: selector }) : [];
      if (previous && instances.length < 2) instances = await runtime.listContainers({ labelSelector: selector });
      return pickContainer(instances, previous)?.id;
    },
  };
}
