import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Container as ApiContainer, EventRecorder, ObjectReference, Pod, Volume } from '@pilot/api';
import { referenceTo } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { KeyedBackoff, goDuration } from '../back-off.js';
import { CONTAINER_ANNOTATIONS, formatPod, sortNewestFirst, type RuntimePodStatus } from '../container.js';
import type { StartFailure } from '../pod-status.js';
import { ImagePullError, NotFoundError, type ContainerRuntime, type ContainerStatus, type DnsConfig, type Mount, type PodSandboxStatus } from '../runtime/runtime.js';
import { LABELS } from '../runtime/naming.js';
import { ContainerConfigError, decodeSecret, generateContainerConfig, generatePodSandboxConfig, makeEnvironmentVariables, type EnvSources } from './container-config.js';
import { computePodActions, type ContainerToStart, type LivenessOf } from './pod-actions.js';

/**
 * The kubelet's side of the runtime (kuberuntime_manager.go,
 * kuberuntime_container.go, images/image_manager.go): reads a pod's state
 * from the runtime, and performs the actions computePodActions plans —
 * sandbox, image pulls with back-off, container creation and start with
 * CrashLoopBackOff, kills with the grace period — recording the events
 * `kubectl describe pod` shows. Containers without the kubelet's labels are
 * never touched (the runtime lists only its own).
 */

/** Upstream minimumGracePeriodInSeconds: a container always gets 2 s after SIGTERM. */
export const MINIMUM_GRACE_PERIOD_SECONDS = 2;

export interface RuntimeManagerOptions {
  runtime: ContainerRuntime;
  recorder: EventRecorder;
  log: Logger;
  /** Container restarts (CrashLoopBackOff). */
  backoff: KeyedBackoff;
  /** Image pulls (ImagePullBackOff). */
  imageBackoff: KeyedBackoff;
  /** Per-pod volumes live under <rootDir>/pods/<uid>/volumes. */
  rootDir: string;
  env: EnvSources;
  /** The pod's resolv.conf (undefined: Docker's default). */
  dnsFor(pod: Pod): DnsConfig | undefined;
  now?: () => number;
}

/** What one SyncPod did. */
export interface SyncResult {
  /** Containers that could not be started, by name, with the waiting reason to report. */
  failures: Map<string, StartFailure>;
  /** Containers started by this sync (their names). */
  started: string[];
  /** Whether anything in the runtime changed (the status is read again). */
  changed: boolean;
  /** When the pod is to be synced again for a back-off to end (ms from now). */
  requeueAfterMs?: number;
}

function containerRef(pod: Pod, kind: 'init' | 'app', index: number): ObjectReference {
  const list = kind === 'init' ? 'initContainers' : 'containers';
  const name = (kind === 'init' ? pod.spec?.initContainers : pod.spec?.containers)?.[index]?.name ?? '';
  return { ...referenceTo({ ...pod, kind: 'Pod', apiVersion: 'v1' }), fieldPath: `spec.${list}{${name}}` };
}

function containerRefByName(pod: Pod, name: string): ObjectReference {
  const i = pod.spec?.containers.findIndex((c) => c.name === name) ?? -1;
  if (i >= 0) return containerRef(pod, 'app', i);
  const j = pod.spec?.initContainers?.findIndex((c) => c.name === name) ?? -1;
  return j >= 0 ? containerRef(pod, 'init', j) : referenceTo({ ...pod, kind: 'Pod', apiVersion: 'v1' });
}

/** The back-off key of a container (getStableKey): pod, container and spec hash. */
function stableKey(pod: Pod, c: ApiContainer, hash: string): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${c.name}_${hash}`;
}

export class RuntimeManager {
  private readonly rt: ContainerRuntime;
  private readonly now: () => number;
  /** The last pull error per back-off key, for ImagePullBackOff's message. */
  private readonly pullErrors = new Map<string, string>();

  constructor(private readonly o: RuntimeManagerOptions) {
    this.rt = o.runtime;
    this.now = o.now ?? Date.now;
  }

  // ------------------------------------------------------------ reading

  async getPodStatus(uid: string, name: string, namespace: string): Promise<RuntimePodStatus> {
    const selector = { [LABELS.podUid]: uid };
    const sandboxes: PodSandboxStatus[] = [];
    for (const s of await this.rt.listPodSandbox({ labelSelector: selector })) {
      const st = await this.rt.podSandboxStatus(s.id).catch((err: unknown) => (err instanceof NotFoundError ? undefined : Promise.reject(err)));
      if (st) sandboxes.push(st);
    }
    sandboxes.sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAt - a.createdAt);
    const containers: ContainerStatus[] = [];
    for (const c of await this.rt.listContainers({ labelSelector: selector })) {
      const st = await this.rt.containerStatus(c.id).catch((err: unknown) => (err instanceof NotFoundError ? undefined : Promise.reject(err)));
      if (st) containers.push(st);
    }
    const ready = sandboxes.find((s) => s.state === 'SANDBOX_READY');
    const ips = ready?.network.ip ? [ready.network.ip, ...ready.network.additionalIps] : [];
    return { uid, name, namespace, ips, sandboxes, containers: sortNewestFirst(containers) };
  }

  // ------------------------------------------------------------ SyncPod

  async syncPod(pod: Pod, status: RuntimePodStatus, liveness?: LivenessOf): Promise<SyncResult> {
    const result: SyncResult = { failures: new Map(), started: [], changed: false };
    const actions = computePodActions(pod, status, liveness);
    if (actions.killPod) {
      if (status.containers.some((c) => c.state === 'CONTAINER_RUNNING') || status.sandboxes.some((s) => s.state === 'SANDBOX_READY')) {
        await this.killPod(pod, status);
        result.changed = true;
      }
    } else {
      for (const k of actions.kill) {
        this.o.recorder.event(containerRefByName(pod, k.name), 'Normal', 'Killing', k.message);
        await this.killContainer(pod, k.id, k.name);
        result.changed = true;
      }
    }
    if (actions.killPod && !actions.createSandbox) return result;

    let sandboxId = actions.sandboxId;
    let podIps = status.ips;
    if (actions.createSandbox) {
      // A new sandbox runs the init containers again.
      for (const c of status.containers) if (c.annotations[CONTAINER_ANNOTATIONS.kind] === 'init') await this.rt.removeContainer(c.id);
      const config = generatePodSandboxConfig(pod, actions.attempt, this.o.dnsFor(pod));
      try {
        sandboxId = await this.rt.runPodSandbox(config);
      } catch (err) {
        const message = `Failed to create pod sandbox: ${(err as Error).message}`;
        this.o.recorder.event(referenceTo({ ...pod, kind: 'Pod', apiVersion: 'v1' }), 'Warning', 'FailedCreatePodSandBox', message);
        for (const s of actions.start) result.failures.set(s.name, { reason: 'ContainerCreating', message });
        result.requeueAfterMs = this.o.backoff.initialMs;
        return result;
      }
      result.changed = true;
      const st = await this.rt.podSandboxStatus(sandboxId);
      podIps = st.network.ip ? [st.network.ip, ...st.network.additionalIps] : [];
    }
    const sandboxConfig = generatePodSandboxConfig(pod, actions.createSandbox ? actions.attempt : (status.sandboxes[0]?.metadata.attempt ?? 0), this.o.dnsFor(pod));

    for (const s of actions.start) {
      const outcome = await this.startContainer(pod, s, sandboxId, sandboxConfig, podIps, status);
      if (outcome === 'started') {
        result.started.push(s.name);
        result.changed = true;
      } else {
        result.failures.set(s.name, outcome.failure);
        if (outcome.retryInMs !== undefined) result.requeueAfterMs = Math.min(result.requeueAfterMs ?? Infinity, outcome.retryInMs);
      }
    }
    if (result.changed) await this.pruneDeadInstances(status).catch((err: unknown) => this.o.log.warn({ pod: formatPod(pod), err: (err as Error).message }, 'removing dead containers failed'));
    return result;
  }

  private async startContainer(
    pod: Pod,
    s: ContainerToStart,
    sandboxId: string,
    sandboxConfig: ReturnType<typeof generatePodSandboxConfig>,
    podIps: readonly string[],
    status: RuntimePodStatus,
  ): Promise<'started' | { failure: StartFailure; retryInMs?: number }> {
    const c = (s.kind === 'init' ? pod.spec!.initContainers! : pod.spec!.containers)[s.index]!;
    const ref = containerRef(pod, s.kind, s.index);
    // CrashLoopBackOff: a container that exited is restarted only after its delay (doBackOff).
    const latest = status.containers.find((x) => x.metadata.name === c.name);
    if (latest && latest.state === 'CONTAINER_EXITED') {
      const key = stableKey(pod, c, latest.annotations[CONTAINER_ANNOTATIONS.hash] ?? '');
      const finished = latest.finishedAt ?? latest.createdAt;
      if (this.o.backoff.isInBackOffSince(key, finished)) {
        const message = `back-off ${goDuration(this.o.backoff.get(key))} restarting failed container=${c.name} pod=${formatPod(pod)}`;
        this.o.recorder.event(ref, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`);
        return { failure: { reason: 'CrashLoopBackOff', message }, retryInMs: this.o.backoff.remainingSince(key, finished) };
      }
      this.o.backoff.next(key, finished);
    }

    const image = await this.ensureImageExists(pod, c, ref);
    if (typeof image !== 'string') return image;

    let config;
    try {
      const envs = await makeEnvironmentVariables(pod, c, { ...this.o.env, podIps });
      config = generateContainerConfig(pod, c, image, { restartCount: s.restartCount, envs, mounts: await this.mountsFor(pod, c), kind: s.kind });
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.o.recorder.event(ref, 'Warning', 'Failed', `Error: ${err.message}`);
      return { failure: { reason: 'CreateContainerConfigError', message: err.message }, retryInMs: this.o.backoff.initialMs };
    }
    let id: string;
    try {
      id = await this.rt.createContainer(sandboxId, config, sandboxConfig);
    } catch (err) {
      const message = (err as Error).message;
      this.o.recorder.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      return { failure: { reason: 'CreateContainerError', message }, retryInMs: this.o.backoff.initialMs };
    }
    this.o.recorder.event(ref, 'Normal', 'Created', `Created container: ${c.name}`);
    try {
      await this.rt.startContainer(id);
    } catch (err) {
      const message = (err as Error).message;
      this.o.recorder.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      // The dead instance is there now: the next sync backs off from it.
      return { failure: { reason: 'RunContainerError', message }, retryInMs: 0 };
    }
    this.o.recorder.event(ref, 'Normal', 'Started', `Started container ${c.name}`);
    return 'started';
  }

  /** EnsureImageExists: the pull policy, pulls with back-off; the image to run, or why not. */
  private async ensureImageExists(pod: Pod, c: ApiContainer, ref: ObjectReference): Promise<string | { failure: StartFailure; retryInMs?: number }> {
    const image = c.image ?? '';
    const policy = c.imagePullPolicy ?? 'IfNotPresent';
    const present = await this.rt.imageStatus(image).catch(() => undefined);
    if (policy === 'Never') {
      if (present) return image;
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.o.recorder.event(ref, 'Warning', 'ErrImageNeverPull', message);
      return { failure: { reason: 'ErrImageNeverPull', message }, retryInMs: this.o.backoff.initialMs };
    }
    if (present && policy !== 'Always') {
      this.o.recorder.event(ref, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return image;
    }
    const key = `${pod.metadata.uid}_${image}`;
    if (this.o.imageBackoff.isInBackOffSinceUpdate(key)) {
      const message = `Back-off pulling image "${image}": ErrImagePull: ${this.pullErrors.get(key) ?? ''}`;
      this.o.recorder.event(ref, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      this.o.recorder.event(ref, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      return { failure: { reason: 'ImagePullBackOff', message }, retryInMs: this.o.imageBackoff.remainingSinceUpdate(key) };
    }
    this.o.recorder.event(ref, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = this.now();
    try {
      await this.rt.pullImage(image);
    } catch (err) {
      const reason = err instanceof ImagePullError ? err.reason : 'ErrImagePull';
      const message = (err as Error).message;
      this.o.imageBackoff.next(key, this.now());
      this.pullErrors.set(key, message);
      this.o.recorder.event(ref, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`);
      this.o.recorder.event(ref, 'Warning', 'Failed', `Error: ${reason}`);
      // Come back halfway through the delay, not at its end: that sync finds the pull
      // still backing off and reports ImagePullBackOff, as upstream's users see it
      // between attempts; a sync at the end would pull again and only ever show ErrImagePull.
      return { failure: { reason, message }, retryInMs: Math.ceil(this.o.imageBackoff.remainingSinceUpdate(key) / 2) };
    }
    this.pullErrors.delete(key);
    const took = ((this.now() - t0) / 1000).toFixed(3);
    const size = (await this.rt.imageStatus(image).catch(() => undefined))?.size;
    this.o.recorder.event(ref, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${took}s (${took}s including waiting).${size !== undefined ? ` Image size: ${size} bytes.` : ''}`);
    return image;
  }

  /** emptyDir under the pod's directory, hostPath as it is. Other volume kinds are not mounted yet. */
  private async mountsFor(pod: Pod, c: ApiContainer): Promise<Mount[]> {
    const out: Mount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const v = pod.spec?.volumes?.find((x) => x.name === vm.name);
      if (!v) throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${c.name}"`);
      let hostPath: string;
      const dir = (plugin: string) => join(this.o.rootDir, 'pods', pod.metadata.uid!, 'volumes', plugin, v.name);
      if (v.hostPath) hostPath = v.hostPath.path;
      else if (v.emptyDir) {
        hostPath = dir('kubernetes.io~empty-dir');
        await mkdir(hostPath, { recursive: true, mode: 0o777 });
      } else if (v.configMap || v.secret) {
        hostPath = dir(v.configMap ? 'kubernetes.io~configmap' : 'kubernetes.io~secret');
        await this.writeObjectVolume(pod, v, hostPath);
      } else continue;
      if (vm.subPath) {
        hostPath = join(hostPath, vm.subPath);
        if (v.emptyDir) await mkdir(hostPath, { recursive: true, mode: 0o777 });
      }
      out.push({ hostPath, containerPath: vm.mountPath, ...(vm.readOnly ? { readonly: true } : {}) });
    }
    return out;
  }

  /**
   * A configMap or secret volume: one file per key (or per `items` entry),
   * written when a container starts; a missing object (not optional) is a
   * CreateContainerConfigError as upstream.
   */
  private async writeObjectVolume(pod: Pod, v: Volume, dir: string): Promise<void> {
    const ns = pod.metadata.namespace!;
    const optional = (v.configMap as { optional?: boolean } | undefined)?.optional ?? (v.secret as { optional?: boolean } | undefined)?.optional ?? false;
    let data: Record<string, string> = {};
    let items: { key: string; path: string }[] | undefined;
    let mode = 0o644;
    if (v.configMap) {
      const cm = await this.o.env.configMap(ns, v.configMap.name ?? '');
      if (!cm && !optional) throw new ContainerConfigError(`configmap "${v.configMap.name}" not found`);
      data = { ...(cm?.data ?? {}), ...Object.fromEntries(Object.entries(cm?.binaryData ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64').toString('latin1')])) };
      items = v.configMap.items;
      mode = v.configMap.defaultMode ?? mode;
    } else if (v.secret) {
      const s = await this.o.env.secret(ns, v.secret.secretName ?? '');
      if (!s && !optional) throw new ContainerConfigError(`secret "${v.secret.secretName}" not found`);
      data = Object.fromEntries(Object.keys(s?.data ?? {}).map((k) => [k, decodeSecret(s!, k) ?? '']));
      items = v.secret.items;
      mode = v.secret.defaultMode ?? mode;
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const files = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const f of files) {
      if (data[f.key] === undefined) {
        if (!optional) throw new ContainerConfigError(`configmap references non-existent config key: ${f.key}`);
        continue;
      }
      const target = join(dir, f.path);
      if (!target.startsWith(`${dir}/`)) throw new ContainerConfigError(`volume "${v.name}": path "${f.path}" leaves the volume`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data[f.key]!, { mode });
    }
  }

  // ------------------------------------------------------------ killing

  /** The grace period of a kill: an override, else the deletion's, else the spec's; at least 2 s. */
  gracePeriodOf(pod: Pod, override?: number): number {
    const g = override ?? pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(MINIMUM_GRACE_PERIOD_SECONDS, g);
  }

  private async killContainer(pod: Pod, id: string, _name: string, override?: number): Promise<void> {
    await this.rt.stopContainer(id, this.gracePeriodOf(pod, override));
  }

  /** Stops every running container (in parallel, each with the grace period), then the sandboxes. */
  async killPod(pod: Pod, status: RuntimePodStatus, gracePeriodOverride?: number): Promise<void> {
    const running = status.containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED');
    await Promise.all(
      running.map(async (c) => {
        if (c.state === 'CONTAINER_RUNNING') this.o.recorder.event(containerRefByName(pod, c.metadata.name), 'Normal', 'Killing', `Stopping container ${c.metadata.name}`);
        await this.killContainer(pod, c.id, c.metadata.name, gracePeriodOverride);
      }),
    );
    for (const s of status.sandboxes) if (s.state === 'SANDBOX_READY') await this.rt.stopPodSandbox(s.id);
  }

  /** Removes every sandbox and container of the pod (it is gone from the API). */
  async removePod(uid: string): Promise<void> {
    const selector = { [LABELS.podUid]: uid };
    for (const c of await this.rt.listContainers({ labelSelector: selector })) if (c.state !== 'CONTAINER_RUNNING') await this.rt.removeContainer(c.id);
    for (const s of await this.rt.listPodSandbox({ labelSelector: selector })) await this.rt.removePodSandbox(s.id);
  }

  /**
   * Keeps the newest two instances of each container (the current one and
   * the one `kubectl logs --previous` shows) and removes older dead ones,
   * and sandboxes that are neither the newest nor hold a kept container.
   */
  private async pruneDeadInstances(status: RuntimePodStatus): Promise<void> {
    const kept = new Set<string>();
    const perName = new Map<string, number>();
    for (const c of status.containers) {
      const n = perName.get(c.metadata.name) ?? 0;
      perName.set(c.metadata.name, n + 1);
      // The status was read before this sync started new instances: keep one dead one besides.
      if (n < 1 || c.state === 'CONTAINER_RUNNING') kept.add(c.id);
      else await this.rt.removeContainer(c.id);
    }
    for (const s of status.sandboxes.slice(1)) {
      if (s.state === 'SANDBOX_READY') continue;
      if (status.containers.some((c) => c.podSandboxId === s.id && kept.has(c.id))) continue;
      await this.rt.removePodSandbox(s.id);
    }
  }
}

