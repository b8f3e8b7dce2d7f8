import { formatTime, type Container as ApiContainer, type ContainerState, type ContainerStatus, type Pod, type PodCondition, type PodStatus } from '@pilot/api';
import { containerIdUri, restartCountOf, shouldContainerBeRestarted, type RuntimePodStatus } from './container.js';
import type { ContainerStatus as RuntimeContainerStatus } from './runtime/runtime.js';

/**
 * The pod's API status from what the runtime reports (kubelet_pods.go
 * generateAPIPodStatus, convertToAPIContainerStatuses, getPhase and
 * status/generate.go). Pure: the kubelet hands in the runtime's view, the
 * reasons its last sync left (ErrImagePull, CrashLoopBackOff, …), the
 * readiness its probes found, and the status the API holds (for startTime
 * and the transition times of conditions that did not change).
 */

/** Why a container could not be started in the last sync (the kubelet's reasonCache). */
export interface StartFailure {
  reason: string;
  message: string;
}

export interface StatusInputs {
  pod: Pod;
  runtime: RuntimePodStatus;
  /** By container name. */
  reasons: ReadonlyMap<string, StartFailure>;
  /** A running container's readiness; undefined: it has no readiness probe (ready when running). */
  readiness?: (name: string, containerId: string) => boolean | undefined;
  hostIp: string;
  now: Date;
  /** The pod has finished for good (every container stopped and none will restart, or it was killed). */
  podIsTerminal?: boolean;
}

function time(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : formatTime(new Date(ms));
}

/** One runtime instance → the API's ContainerState (convertContainerStatus). */
function stateOf(c: RuntimeContainerStatus): ContainerState {
  switch (c.state) {
    case 'CONTAINER_RUNNING':
      return { running: { startedAt: time(c.startedAt ?? c.createdAt)! } };
    case 'CONTAINER_EXITED':
      return {
        terminated: {
          exitCode: c.exitCode,
          reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
          ...(c.message ? { message: c.message } : {}),
          ...(c.startedAt !== undefined ? { startedAt: time(c.startedAt)! } : {}),
          ...(c.finishedAt !== undefined ? { finishedAt: time(c.finishedAt)! } : {}),
          containerID: containerIdUri(c.id),
        },
      };
    case 'CONTAINER_CREATED':
      return { waiting: { reason: 'ContainerCreating' } };
    default:
      return { waiting: {} };
  }
}

function convertContainerStatuses(
  containers: readonly ApiContainer[],
  inputs: StatusInputs,
  defaultWaiting: string,
  isInit: boolean,
): ContainerStatus[] {
  const { pod, runtime } = inputs;
  const statuses = new Map<string, ContainerStatus>();
  for (const c of containers) {
    statuses.set(c.name, { name: c.name, state: { waiting: { reason: defaultWaiting } }, lastState: {}, ready: false, restartCount: 0, image: c.image ?? '', imageID: '', started: false });
  }
  const seen = new Map<string, number>();
  for (const rc of runtime.containers) {
    const name = rc.metadata.name;
    const status = statuses.get(name);
    if (!status) continue;
    const n = seen.get(name) ?? 0;
    if (n >= 2) continue;
    const state = stateOf(rc);
    if (n === 0) {
      status.state = state;
      status.restartCount = restartCountOf(rc);
      status.imageID = rc.imageRef ? `docker://${rc.imageRef}` : '';
      status.containerID = containerIdUri(rc.id);
      status.started = rc.state === 'CONTAINER_RUNNING';
      if (rc.state === 'CONTAINER_RUNNING') status.ready = isInit ? false : (inputs.readiness?.(name, rc.id) ?? true);
      if (isInit && rc.state === 'CONTAINER_EXITED' && rc.exitCode === 0) status.ready = true;
    } else {
      status.lastState = state;
    }
    seen.set(name, n + 1);
  }
  // Containers the next sync will (re)start are Waiting, with the reason the last start failed for.
  for (const c of containers) {
    const status = statuses.get(c.name)!;
    const restartable = isInit ? initShouldRun(c, inputs) : shouldContainerBeRestarted(c, pod, runtime);
    if (!restartable) continue;
    const failure = inputs.reasons.get(c.name);
    if (!failure) continue;
    if (status.state?.terminated) status.lastState = status.state;
    status.state = { waiting: { reason: failure.reason, message: failure.message } };
  }
  return containers.map((c) => statuses.get(c.name)!);
}

/** An init container that failed (or never ran) runs again unless the pod is restartPolicy Never. */
function initShouldRun(c: ApiContainer, inputs: StatusInputs): boolean {
  const latest = inputs.runtime.containers.find((x) => x.metadata.name === c.name);
  if (!latest) return true;
  if (latest.state === 'CONTAINER_RUNNING') return false;
  if (latest.state === 'CONTAINER_EXITED' && latest.exitCode === 0) return false;
  return (inputs.pod.spec?.restartPolicy ?? 'Always') !== 'Never';
}

/** getPhase: Pending / Running / Succeeded / Failed from the containers' states. */
export function getPhase(pod: Pod, init: readonly ContainerStatus[], app: readonly ContainerStatus[], podIsTerminal: boolean): NonNullable<PodStatus['phase']> {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of init) {
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if (pendingInit > 0 || failedInit > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  return { type, status: ok ? 'True' : 'False', ...(reason && !ok ? { reason } : {}), ...(message && !ok ? { message } : {}) };
}

function podConditions(pod: Pod, phase: string, init: readonly ContainerStatus[], app: readonly ContainerStatus[], sandboxReady: boolean): PodCondition[] {
  const incomplete = init.filter((s) => !(s.state?.terminated && s.state.terminated.exitCode === 0)).map((s) => s.name);
  const initialized = incomplete.length === 0 || phase === 'Running' || phase === 'Succeeded';
  const unready = app.filter((s) => !s.ready).map((s) => s.name);
  let containersReady: PodCondition;
  if (phase === 'Succeeded') containersReady = { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' };
  else if (!initialized) containersReady = condition('ContainersReady', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`);
  else containersReady = condition('ContainersReady', unready.length === 0, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  const ready: PodCondition = { ...containersReady, type: 'Ready' };
  return [
    { type: 'PodReadyToStartContainers', status: sandboxReady ? 'True' : 'False' },
    initialized ? { type: 'Initialized', status: 'True' } : condition('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    ready,
    containersReady,
    { type: 'PodScheduled', status: 'True' },
  ];
}

/** Keeps lastTransitionTime (and PodScheduled as the scheduler wrote it) from conditions whose status did not change. */
function withTransitionTimes(conds: PodCondition[], old: readonly PodCondition[] | undefined, now: string): PodCondition[] {
  return conds.map((c) => {
    const prev = old?.find((o) => o.type === c.type);
    if (c.type === 'PodScheduled' && prev) return prev;
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    return { ...c, lastProbeTime: null, lastTransitionTime };
  });
}

export function generateAPIPodStatus(inputs: StatusInputs): PodStatus {
  const { pod, runtime } = inputs;
  const old = pod.status ?? {};
  const now = formatTime(inputs.now);
  const initContainers = pod.spec?.initContainers ?? [];
  const initDone = initContainers.every((c) => runtime.containers.some((x) => x.metadata.name === c.name && x.state === 'CONTAINER_EXITED' && x.exitCode === 0));
  const init = convertContainerStatuses(initContainers, inputs, 'PodInitializing', true);
  const app = convertContainerStatuses(pod.spec?.containers ?? [], inputs, initDone ? 'ContainerCreating' : 'PodInitializing', false);
  let phase = getPhase(pod, init, app, inputs.podIsTerminal ?? false);
  // A pod that has reached a terminal phase never leaves it (the status manager's rule).
  if (old.phase === 'Succeeded' || old.phase === 'Failed') phase = old.phase;
  const sandboxReady = runtime.sandboxes[0]?.state === 'SANDBOX_READY';
  const status: PodStatus = {
    phase,
    conditions: withTransitionTimes(podConditions(pod, phase, init, app, sandboxReady), old.conditions, now),
    hostIP: inputs.hostIp,
    hostIPs: [{ ip: inputs.hostIp }],
    ...(runtime.ips.length ? { podIP: runtime.ips[0]!, podIPs: runtime.ips.map((ip) => ({ ip })) } : pod.spec?.hostNetwork ? { podIP: inputs.hostIp, podIPs: [{ ip: inputs.hostIp }] } : {}),
    startTime: old.startTime ?? now,
    ...(initContainers.length ? { initContainerStatuses: init } : {}),
    containerStatuses: app,
    qosClass: old.qosClass ?? qosClass(pod),
  };
  return status;
}

/** v1qos.GetPodQOS, reduced: Guaranteed when every container has equal cpu and memory limits and requests, BestEffort with none. */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = { ...l, ...(c.resources?.requests ?? {}) };
    return ['cpu', 'memory'].every((k) => l[k] !== undefined && r[k] === l[k]);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Whether two statuses say the same (the status manager writes only on change). */
export function podStatusEqual(a: PodStatus | undefined, b: PodStatus): boolean {
  if (!a) return false;
  const canon = (s: PodStatus) => {
    const norm = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(norm)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== null).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]))
          : v;
    return JSON.stringify(norm({ ...s, conditions: [...(s.conditions ?? [])].sort((x, y) => x.type.localeCompare(y.type)) }));
  };
  return canon(a) === canon(b);
}
