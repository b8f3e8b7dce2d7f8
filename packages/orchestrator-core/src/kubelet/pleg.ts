import type { Logger } from '@pilot/common';
import { sleep } from '@pilot/common';
import { LABELS } from './runtime/naming.js';
import type { ContainerRuntime, ContainerState } from './runtime/runtime.js';

/**
 * The pod lifecycle event generator (pkg/kubelet/pleg/generic.go): relists
 * the runtime every `relistPeriodMs` (1 s) — two list calls, whatever the
 * number of pods — and turns the differences since the last relist into
 * events per pod: a container (or sandbox) started, died, was removed. The
 * syncLoop syncs the pod of each event, so a container that dies is seen
 * within about a second without polling each pod.
 *
 * `diffRelist` is the pure part; `Pleg` the loop around it.
 */

export type PodLifecycleEventType = 'ContainerStarted' | 'ContainerDied' | 'ContainerRemoved' | 'ContainerChanged';

export interface PodLifecycleEvent {
  /** The pod's uid. */
  id: string;
  type: PodLifecycleEventType;
  /** The container (or sandbox) id. */
  data: string;
}

type PlegState = 'running' | 'exited' | 'unknown' | 'non-existent';

export interface RelistRecord {
  podUid: string;
  state: PlegState;
}

function plegState(s: ContainerState | 'SANDBOX_READY' | 'SANDBOX_NOTREADY'): PlegState {
  switch (s) {
    case 'CONTAINER_RUNNING':
    case 'SANDBOX_READY':
      return 'running';
    case 'CONTAINER_EXITED':
    case 'SANDBOX_NOTREADY':
      return 'exited';
    case 'CONTAINER_CREATED':
    case 'CONTAINER_UNKNOWN':
      return 'unknown';
  }
}

/** generateEvents for every container and sandbox between two relists. */
export function diffRelist(old: ReadonlyMap<string, RelistRecord>, cur: ReadonlyMap<string, RelistRecord>): PodLifecycleEvent[] {
  const out: PodLifecycleEvent[] = [];
  for (const id of new Set([...old.keys(), ...cur.keys()])) {
    const o = old.get(id);
    const n = cur.get(id);
    const from = o?.state ?? 'non-existent';
    const to = n?.state ?? 'non-existent';
    if (from === to) continue;
    const podUid = (n ?? o)!.podUid;
    switch (to) {
      case 'running':
        out.push({ id: podUid, type: 'ContainerStarted', data: id });
        break;
      case 'exited':
        out.push({ id: podUid, type: 'ContainerDied', data: id });
        break;
      case 'unknown':
        out.push({ id: podUid, type: 'ContainerChanged', data: id });
        break;
      case 'non-existent':
        // A container that was running and vanished died first.
        if (from === 'running') out.push({ id: podUid, type: 'ContainerDied', data: id });
        out.push({ id: podUid, type: 'ContainerRemoved', data: id });
        break;
    }
  }
  return out;
}

export interface PlegOptions {
  runtime: Pick<ContainerRuntime, 'listPodSandbox' | 'listContainers'>;
  log: Logger;
  relistPeriodMs?: number;
  onEvent(e: PodLifecycleEvent): void;
}

/** Upstream's relist threshold: a PLEG that has not relisted for 3 min makes the node not ready. */
export const RELIST_THRESHOLD_MS = 3 * 60_000;

export class Pleg {
  private records = new Map<string, RelistRecord>();
  private lastRelist = 0;
  private lastError: string | undefined;

  constructor(private readonly o: PlegOptions) {}

  async relist(): Promise<void> {
    const cur = new Map<string, RelistRecord>();
    for (const s of await this.o.runtime.listPodSandbox()) cur.set(s.id, { podUid: s.metadata.uid, state: plegState(s.state) });
    for (const c of await this.o.runtime.listContainers()) cur.set(c.id, { podUid: c.labels[LABELS.podUid] ?? '', state: plegState(c.state) });
    const events = diffRelist(this.records, cur);
    this.records = cur;
    this.lastRelist = Date.now();
    this.lastError = undefined;
    for (const e of events) if (e.id) this.o.onEvent(e);
  }

  /** Relists until the signal aborts; a failed relist (dockerd down) is logged once and retried. */
  async run(signal: AbortSignal): Promise<void> {
    const period = this.o.relistPeriodMs ?? 1_000;
    while (!signal.aborted) {
      try {
        await this.relist();
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== this.lastError) this.o.log.warn({ err: msg }, 'PLEG relist failed');
        this.lastError = msg;
      }
      await sleep(period, signal).catch(() => undefined);
    }
  }

  /** Healthy while relists succeed within the threshold; else why not (the node's Ready condition says it). */
  healthy(now = Date.now()): { ok: true } | { ok: false; message: string } {
    if (this.lastRelist === 0 && !this.lastError) return { ok: true };
    if (now - this.lastRelist > RELIST_THRESHOLD_MS || (this.lastRelist === 0 && this.lastError)) {
      return { ok: false, message: `PLEG is not healthy: pleg was last seen active ${this.lastRelist ? `${Math.round((now - this.lastRelist) / 1000)}s ago` : 'never'}; ${this.lastError ?? ''}`.trim() };
    }
    return { ok: true };
  }

  /** Whether the runtime answered the last relist. */
  runtimeUp(): boolean {
    return this.lastError === undefined;
  }
}
