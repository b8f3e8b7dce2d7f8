import type { Pod } from '@pilot/api';
import { CONTAINER_ANNOTATIONS, hashContainer, latestInstance, restartCountOf, shouldContainerBeRestarted, type RuntimePodStatus } from '../container.js';

/**
 * What one sync of a pod must do to its containers (kuberuntime_manager.go
 * computePodActions), as plain data: kill the whole pod, (re)create the
 * sandbox, start which containers, kill which. Pure over the pod and the
 * runtime's view; SyncPod in manager.ts performs the actions.
 *
 *   no sandbox, or the newest one not ready   → kill everything, new sandbox (attempt+1),
 *                                                then start from the first init container
 *                                                (or every app container)
 *   init containers not all done               → start the next one (restart a failed one
 *                                                unless restartPolicy Never: then kill the pod)
 *   app container not running                  → start when the restartPolicy says so
 *   app container running with a changed spec
 *   or a failed liveness probe                 → kill and start again
 *   nothing running and nothing to start       → kill the pod (it is done)
 */

export interface ContainerToStart {
  /** 'init' or 'app', and the index in that list of the spec. */
  kind: 'init' | 'app';
  index: number;
  name: string;
  /** The restart count the new instance gets (the previous one's + 1). */
  restartCount: number;
}

export interface ContainerToKill {
  id: string;
  name: string;
  message: string;
}

export interface PodActions {
  killPod: boolean;
  createSandbox: boolean;
  /** The sandbox to run containers in (empty when one is to be created). */
  sandboxId: string;
  /** The attempt number of a sandbox to create. */
  attempt: number;
  start: ContainerToStart[];
  kill: ContainerToKill[];
}

function nextRestartCount(status: RuntimePodStatus, name: string): number {
  const latest = latestInstance(status, name);
  return latest ? restartCountOf(latest) + 1 : 0;
}

/** Liveness by container id: false means the probe failed and the container is to be restarted. */
export type LivenessOf = (containerId: string) => boolean | undefined;

export function computePodActions(pod: Pod, status: RuntimePodStatus, liveness: LivenessOf = () => undefined): PodActions {
  const spec = pod.spec ?? { containers: [] };
  const policy = spec.restartPolicy ?? 'Always';
  const initContainers = spec.initContainers ?? [];
  const sandbox = status.sandboxes[0];
  const readySandboxes = status.sandboxes.filter((s) => s.state === 'SANDBOX_READY');
  const sandboxChanged = !sandbox || sandbox.state !== 'SANDBOX_READY' || readySandboxes.length > 1;
  const actions: PodActions = { killPod: sandboxChanged, createSandbox: sandboxChanged, sandboxId: sandboxChanged ? '' : sandbox.id, attempt: sandbox ? sandbox.metadata.attempt + 1 : 0, start: [], kill: [] };
  if (!sandbox) actions.attempt = 0;

  if (sandboxChanged) {
    // A pod that ran once and must never restart does not get a new sandbox.
    if (policy === 'Never' && sandbox && status.containers.length > 0) {
      actions.createSandbox = false;
      return actions;
    }
    if (initContainers.length) {
      actions.start.push({ kind: 'init', index: 0, name: initContainers[0]!.name, restartCount: nextRestartCount(status, initContainers[0]!.name) });
      return actions;
    }
    spec.containers.forEach((c, index) => {
      const latest = latestInstance(status, c.name);
      // OnFailure: a container that already succeeded stays done.
      if (policy === 'OnFailure' && latest?.state === 'CONTAINER_EXITED' && latest.exitCode === 0) return;
      actions.start.push({ kind: 'app', index, name: c.name, restartCount: nextRestartCount(status, c.name) });
    });
    return actions;
  }

  // Init containers, in order: the first one not done decides.
  for (const [index, c] of initContainers.entries()) {
    const latest = latestInstance(status, c.name);
    if (latest?.state === 'CONTAINER_EXITED' && latest.exitCode === 0) continue;
    if (latest?.state === 'CONTAINER_RUNNING') return actions;
    if (latest?.state === 'CONTAINER_EXITED' && policy === 'Never') {
      actions.killPod = true;
      return actions;
    }
    actions.start.push({ kind: 'init', index, name: c.name, restartCount: nextRestartCount(status, c.name) });
    return actions;
  }

  let keep = 0;
  spec.containers.forEach((c, index) => {
    const latest = latestInstance(status, c.name);
    if (!latest || latest.state !== 'CONTAINER_RUNNING') {
      if (shouldContainerBeRestarted(c, pod, status)) actions.start.push({ kind: 'app', index, name: c.name, restartCount: nextRestartCount(status, c.name) });
      return;
    }
    let why: string | undefined;
    const hash = latest.annotations[CONTAINER_ANNOTATIONS.hash];
    if (hash && hash !== hashContainer(c)) why = `Container ${c.name} definition changed`;
    else if (liveness(latest.id) === false) why = `Container ${c.name} failed liveness probe`;
    if (!why) {
      keep++;
      return;
    }
    actions.kill.push({ id: latest.id, name: c.name, message: `${why}, will be restarted` });
    if (policy !== 'Never') actions.start.push({ kind: 'app', index, name: c.name, restartCount: restartCountOf(latest) + 1 });
  });
  if (keep === 0 && actions.start.length === 0) actions.killPod = true;
  return actions;
}
