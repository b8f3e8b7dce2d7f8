import type { Container as ApiContainer, EventRecorder, Pod, PodStatus, Probe } from '@pilot/api';
import { referenceTo } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { runProbe, type ProbeResult, type ProbeType } from './prober.js';

/**
 * The prober manager (pkg/kubelet/prober/prober_manager.go, worker.go): one
 * worker per container and probe type, each probing every periodSeconds
 * once initialDelaySeconds have passed since the container started, and a
 * results cache the kubelet reads:
 *
 *   readiness   false until successThreshold successes, false again after
 *               failureThreshold failures → the pod's Ready/ContainersReady
 *   liveness    true until failureThreshold failures → the container is
 *               killed and restarted by the restartPolicy (SyncPod)
 *   startup     liveness and readiness wait until it succeeded once
 *
 * A change of a result makes the kubelet sync the pod (`onChange`).
 */

type Outcome = 'success' | 'failure';

/** Threshold counting of one worker (worker.go doProbe), pure. */
export interface ProbeCounter {
  last: Outcome | undefined;
  run: number;
  /** The published result. */
  result: Outcome | undefined;
}

export function initialResult(type: ProbeType): Outcome | undefined {
  return type === 'readiness' ? 'failure' : type === 'liveness' ? 'success' : undefined;
}

/** Counts one probe outcome; returns whether the published result changed. */
export function recordOutcome(c: ProbeCounter, outcome: Outcome, probe: Probe): boolean {
  if (c.last === outcome) c.run++;
  else {
    c.last = outcome;
    c.run = 1;
  }
  const threshold = outcome === 'failure' ? (probe.failureThreshold ?? 3) : (probe.successThreshold ?? 1);
  if (c.run < threshold) return false;
  const changed = c.result !== outcome;
  c.result = outcome;
  return changed;
}

export interface ProbeManagerOptions {
  runtime: Pick<ContainerRuntime, 'execSync'>;
  recorder: EventRecorder;
  log: Logger;
  /** The pod's newest status (the status manager's). */
  podStatus(uid: string): PodStatus | undefined;
  onChange(uid: string): void;
}

interface Worker {
  pod: Pod;
  container: ApiContainer;
  type: ProbeType;
  probe: Probe;
  containerId: string | undefined;
  counter: ProbeCounter;
  /** After a liveness/startup failure: nothing more until the container is replaced. */
  onHold: boolean;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  stopped: boolean;
}

const PROBES: ReadonlyArray<[ProbeType, 'livenessProbe' | 'readinessProbe' | 'startupProbe']> = [
  ['startup', 'startupProbe'],
  ['liveness', 'livenessProbe'],
  ['readiness', 'readinessProbe'],
];

const TITLE: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  /** Published results by container id and type. */
  private readonly results = new Map<string, Map<ProbeType, Outcome>>();

  constructor(private readonly o: ProbeManagerOptions) {}

  /** Starts workers for the pod's probes (once per container and type). */
  addPod(pod: Pod): void {
    const uid = pod.metadata.uid!;
    for (const c of pod.spec?.containers ?? []) {
      for (const [type, field] of PROBES) {
        const probe = (c as ApiContainer & { startupProbe?: Probe })[field];
        if (!probe) continue;
        const key = `${uid}/${c.name}/${type}`;
        if (this.workers.has(key)) continue;
        const w: Worker = { pod, container: c, type, probe, containerId: undefined, counter: { last: undefined, run: 0, result: initialResult(type) }, onHold: false, timer: undefined, running: false, stopped: false };
        this.workers.set(key, w);
        this.schedule(w, Math.random() * 1000);
      }
    }
  }

  removePod(uid: string): void {
    for (const [key, w] of this.workers) {
      if (!key.startsWith(`${uid}/`)) continue;
      w.stopped = true;
      if (w.timer) clearTimeout(w.timer);
      this.workers.delete(key);
      if (w.containerId) this.results.delete(w.containerId);
    }
  }

  stop(): void {
    for (const uid of new Set([...this.workers.keys()].map((k) => k.split('/')[0]!))) this.removePod(uid);
  }

  private hasProbe(pod: Pod, name: string, field: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): boolean {
    const c = pod.spec?.containers.find((x) => x.name === name) as (ApiContainer & { startupProbe?: Probe }) | undefined;
    return !!c?.[field];
  }

  /** A running container's readiness: undefined without a readiness probe (ready when running). */
  readiness(pod: Pod, name: string, containerId: string): boolean | undefined {
    if (!this.hasProbe(pod, name, 'readinessProbe')) return undefined;
    return this.results.get(containerId)?.get('readiness') === 'success';
  }

  /** false once the liveness probe failed (the container is to be restarted). */
  liveness(containerId: string): boolean | undefined {
    return this.results.get(containerId)?.get('liveness') === 'failure' ? false : undefined;
  }

  private publish(w: Worker, id: string, outcome: Outcome): void {
    let m = this.results.get(id);
    if (!m) this.results.set(id, (m = new Map()));
    m.set(w.type, outcome);
  }

  private schedule(w: Worker, ms: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.tick(w), ms);
    w.timer.unref?.();
  }

  private async tick(w: Worker): Promise<void> {
    const period = (w.probe.periodSeconds ?? 10) * 1000;
    try {
      await this.doProbe(w);
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'probe failed to run');
    }
    this.schedule(w, period);
  }

  private async doProbe(w: Worker): Promise<void> {
    const uid = w.pod.metadata.uid!;
    const status = this.o.podStatus(uid);
    const cs = status?.containerStatuses?.find((s) => s.name === w.container.name);
    const id = cs?.containerID?.replace(/^\w+:\/\//, '');
    if (!cs?.state?.running || !id) return;
    if (id !== w.containerId) {
      // A new instance: start counting afresh.
      if (w.containerId) this.results.delete(w.containerId);
      w.containerId = id;
      w.counter = { last: undefined, run: 0, result: initialResult(w.type) };
      w.onHold = false;
      if (w.counter.result) this.publish(w, id, w.counter.result);
    }
    if (w.onHold) return;
    const started = Date.parse(cs.state.running.startedAt ?? '') || 0;
    if (Date.now() - started < (w.probe.initialDelaySeconds ?? 0) * 1000) return;
    // Liveness and readiness wait for the startup probe.
    if (w.type !== 'startup' && this.hasProbe(w.pod, w.container.name, 'startupProbe') && this.results.get(id)?.get('startup') !== 'success') return;
    let result: ProbeResult;
    try {
      result = await runProbe(this.o.runtime, w.probe, w.container, id, status?.podIP);
    } catch (err) {
      result = { ok: false, output: (err as Error).message };
    }
    if (w.stopped || w.containerId !== id) return;
    if (!result.ok) {
      const ref = { ...referenceTo({ ...w.pod, kind: 'Pod', apiVersion: 'v1' }), fieldPath: `spec.containers{${w.container.name}}` };
      this.o.recorder.event(ref, 'Warning', 'Unhealthy', `${TITLE[w.type]} probe failed: ${result.output.trim()}`);
    }
    const changed = recordOutcome(w.counter, result.ok ? 'success' : 'failure', w.probe);
    if (!changed) return;
    this.publish(w, id, w.counter.result!);
    if (w.type !== 'readiness' && w.counter.result === 'failure') w.onHold = true;
    this.o.log.info({ pod: `${w.pod.metadata.namespace}/${w.pod.metadata.name}`, container: w.container.name, probe: w.type, result: w.counter.result }, 'probe result changed');
    this.o.onChange(uid);
  }
}
