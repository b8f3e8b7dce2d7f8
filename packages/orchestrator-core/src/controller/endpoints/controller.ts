/**
 * The endpoints controller (pkg/controller/endpoint): keeps each Service's
 * Endpoints equal to the pods its selector picks — what svcproxy and dnsd
 * program (through the EndpointSlices the apiserver mirrors from every
 * Endpoints write).
 *
 * Handlers only enqueue Service keys: a Service change, a pod whose
 * membership, readiness, IP or termination changed (for the Services it
 * belonged to and now belongs to), an Endpoints object deleted under a live
 * Service. `syncService(key)` reads the caches, asks the pure planner
 * (endpoints-plan.ts) for the object, and writes only when it differs.
 * Selectorless Services are left alone (their Endpoints are the user's);
 * Endpoints whose Service is gone are deleted.
 */
import { hostname } from 'node:os';
import {
  isNamespaceTerminating,
  isNotFound,
  isPodReady,
  keyOf,
  labelSelectorFromSet,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  runWorkers,
  splitKey,
  WorkQueue,
  type ApiClient,
  type Endpoints,
  type EventRecorder,
  type Informer,
  type Pod,
  type Service,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { desiredSubsets, planEndpoints, TriggerTimeTracker } from './endpoints-plan.js';

/** Endpoints that hold a leader lock (old-style leader election), never deleted as leftovers. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface EndpointsControllerDeps {
  services: Informer<Service>;
  pods: Informer<Pod>;
  endpoints: Informer<Endpoints>;
  client: Pick<ApiClient, 'create' | 'update' | 'delete'>;
  /** Tells of failed writes on the Service (FailedToUpdateEndpoint). */
  recorder: EventRecorder;
  workers: number;
  log: Logger;
}

export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  readonly queue = new WorkQueue<string>({ name: 'endpoint' });
  private readonly tracker = new TriggerTimeTracker();
  private readonly d: EndpointsControllerDeps;

  constructor(deps: EndpointsControllerDeps) {
    this.d = deps;
    for (const inf of [deps.services.indexer, deps.pods.indexer]) if (!inf.hasIndex(NAMESPACE_INDEX)) inf.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    deps.services.addHandler({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (_o, s) => this.queue.add(keyOf(s)),
      onDelete: (s) => this.queue.add(keyOf(s)),
    });
    deps.pods.addHandler({
      onAdd: (p) => this.enqueueAll(this.memberships(p)),
      onUpdate: (old, cur) => this.enqueueAll(this.servicesToUpdateOnPodChange(old, cur)),
      onDelete: (p) => this.enqueueAll(this.memberships(p)),
    });
    deps.endpoints.addHandler({
      // Deleted under a live Service: write it again.
      onDelete: (ep) => {
        if (deps.services.indexer.has(keyOf(ep))) this.queue.add(keyOf(ep));
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.checkLeftoverEndpoints();
    await runWorkers(this.queue, this.d.workers, (key) => this.syncService(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ service: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  // ---------------------------------------------------------------- handlers (enqueue only)

  private enqueueAll(keys: Iterable<string>): void {
    for (const k of keys) this.queue.add(k);
  }

  /** Keys of the Services (with a selector) in the pod's namespace that select it. */
  private memberships(pod: Pod): Set<string> {
    const out = new Set<string>();
    for (const svc of this.d.services.indexer.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '')) {
      const sel = svc.spec?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      if (labelSelectorFromSet(sel).matches(pod.metadata.labels)) out.add(keyOf(svc));
    }
    return out;
  }

  /** GetServicesToUpdateOnPodChange: nothing unless what Endpoints show or membership changed. */
  private servicesToUpdateOnPodChange(old: Pod, cur: Pod): Set<string> {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return new Set();
    const { podChanged, labelsChanged } = podEndpointsChanged(old, cur);
    if (!podChanged && !labelsChanged) return new Set();
    const now = this.memberships(cur);
    if (!labelsChanged) return now;
    const before = this.memberships(old);
    if (podChanged) return new Set([...now, ...before]);
    // Only membership changed: only the Services it left or joined.
    const out = new Set<string>();
    for (const k of now) if (!before.has(k)) out.add(k);
    for (const k of before) if (!now.has(k)) out.add(k);
    return out;
  }

  /** Endpoints left from Services deleted while no controller ran (checkLeftoverEndpoints). */
  private checkLeftoverEndpoints(): void {
    for (const ep of this.d.endpoints.indexer.list()) {
      if (ep.metadata.annotations?.[LEADER_ANNOTATION] !== undefined) continue;
      if (!this.d.services.indexer.has(keyOf(ep))) this.queue.add(keyOf(ep));
    }
  }

  // ---------------------------------------------------------------- sync

  async syncService(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.d.services.indexer.get(key);
    if (!svc) {
      // The Service is gone: so are its Endpoints (the apiserver drops the mirrored slices with them).
      try {
        await this.d.client.delete('endpoints', name, { namespace: namespace! });
        this.d.log.info({ endpoints: key }, 'deleted Endpoints of a deleted Service');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.tracker.deleteService(namespace!, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const sel = svc.spec?.selector;
    if (!sel || Object.keys(sel).length === 0) return;
    const selector = labelSelectorFromSet(sel);
    const pods = this.d.pods.indexer.byIndex(NAMESPACE_INDEX, namespace ?? '').filter((p) => selector.matches(p.metadata.labels));
    const triggerTime = this.tracker.compute(svc, pods);
    const current = this.d.endpoints.indexer.get(key);
    const next = planEndpoints(svc, desiredSubsets(svc, pods), current, triggerTime);
    if (!next) return;
    try {
      if (current) await this.d.client.update('endpoints', next);
      else await this.d.client.create('endpoints', next, { namespace: namespace! });
    } catch (err) {
      // A namespace being deleted refuses new objects; its Endpoints go with it.
      if (!current && isNamespaceTerminating(err)) return;
      this.d.recorder.event({ ...svc, apiVersion: 'v1', kind: 'Service' }, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${(err as Error).message}`);
      throw err;
    }
  }
}

/** podEndpointsChanged: (what an address shows changed, membership may have changed). */
export function podEndpointsChanged(old: Pod, cur: Pod): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged =
    JSON.stringify(sorted(old.metadata.labels)) !== JSON.stringify(sorted(cur.metadata.labels)) ||
    old.spec?.hostname !== cur.spec?.hostname ||
    old.spec?.subdomain !== cur.spec?.subdomain;
  const ips = (p: Pod) => (p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : [])).join(',');
  const terminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
  const podChanged =
    old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp ||
    isPodReady(old) !== isPodReady(cur) ||
    ips(old) !== ips(cur) ||
    terminal(old) !== terminal(cur) ||
    old.spec?.nodeName !== cur.spec?.nodeName;
  return { podChanged, labelsChanged };
}

function sorted(m: Record<string, string> | undefined): [string, string][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export const endpointsControllerFactory: ControllerFactory = (ctx) => {
  return new EndpointsController({
    recorder: ctx.events.newRecorder({ component: 'endpoint-controller', host: hostname() }),
    services: ctx.informers.informer<Service>('services'),
    pods: ctx.informers.informer<Pod>('pods'),
    endpoints: ctx.informers.informer<Endpoints>('endpoints'),
    client: ctx.client,
    workers: ctx.config.concurrentEndpointSyncs,
    log: ctx.log,
  });
};
