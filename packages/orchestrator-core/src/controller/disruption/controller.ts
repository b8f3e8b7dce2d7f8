/**
 * The disruption controller (pkg/controller/disruption): keeps each
 * PodDisruptionBudget's status (expectedPods, desiredHealthy, currentHealthy,
 * disruptionsAllowed, the DisruptionAllowed condition) true to its pods, so
 * the eviction subresource knows how many pods it may take. Handlers only
 * enqueue budget keys; `syncPdb(key)` reads the budget and its pods from the
 * caches, asks the pods' controllers for their scale when the budget is a
 * percentage or maxUnavailable, and writes the status through /status when it
 * changed (a lost race with an eviction is a 409 and a retry).
 */
import {
  controllerRefOf,
  isNotFound,
  keyOf,
  labelSelectorFromObject,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
  resourceForKind,
  runWorkers,
  WorkQueue,
  type ApiClient,
  type Informer,
  type Pod,
  type PodDisruptionBudget,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { computeStatus, pdbStatusEqual } from './disruption-plan.js';

export interface DisruptionControllerDeps {
  pdbs: Informer<PodDisruptionBudget>;
  pods: Informer<Pod>;
  client: Pick<ApiClient, 'updateStatus' | 'getScale'>;
  log: Logger;
  now: () => number;
}

export class DisruptionController implements Controller {
  readonly name = 'disruption';
  readonly queue = new WorkQueue<string>({ name: 'disruption' });
  private readonly d: DisruptionControllerDeps;

  constructor(deps: DisruptionControllerDeps) {
    this.d = deps;
    if (!deps.pods.indexer.hasIndex(NAMESPACE_INDEX)) deps.pods.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    if (!deps.pdbs.indexer.hasIndex(NAMESPACE_INDEX)) deps.pdbs.indexer.addIndex(NAMESPACE_INDEX, namespaceIndexFunc);
    deps.pdbs.addHandler({
      onAdd: (p) => this.queue.add(keyOf(p)),
      onUpdate: (_o, p) => this.queue.add(keyOf(p)),
      onDelete: (p) => this.queue.add(keyOf(p)),
    });
    deps.pods.addHandler({
      onAdd: (p) => this.enqueueFor(p),
      onUpdate: (old, cur) => {
        this.enqueueFor(cur);
        if (JSON.stringify(old.metadata.labels) !== JSON.stringify(cur.metadata.labels)) this.enqueueFor(old);
      },
      onDelete: (p) => this.enqueueFor(p),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers(this.queue, 1, (key) => this.syncPdb(key), {
      signal,
      onError: (key, err) => this.d.log.warn({ pdb: key, err: (err as Error).message }, 'sync failed; retrying'),
    });
  }

  /** Every budget in the pod's namespace that selects it. */
  private enqueueFor(pod: Pod): void {
    for (const pdb of this.d.pdbs.indexer.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '')) if (selects(pdb, pod)) this.queue.add(keyOf(pdb));
  }

  async syncPdb(key: string): Promise<void> {
    const pdb = this.d.pdbs.indexer.get(key);
    if (!pdb) return;
    const pods = this.d.pods.indexer.byIndex(NAMESPACE_INDEX, pdb.metadata.namespace ?? '').filter((p) => selects(pdb, p));
    const scale = needsScale(pdb) ? await this.controllerScale(pods) : undefined;
    const { status, recheckAfterMs } = computeStatus(pdb, pods, scale, this.d.now());
    if (recheckAfterMs !== undefined) this.queue.addAfter(key, recheckAfterMs);
    if (pdbStatusEqual(pdb.status, status)) return;
    try {
      await this.d.client.updateStatus('poddisruptionbudgets', { ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The sum of the pods' controllers' spec.replicas, read through their /scale (getExpectedScale); undefined if none answers. */
  private async controllerScale(pods: readonly Pod[]): Promise<number | undefined> {
    const seen = new Map<string, number>();
    for (const pod of pods) {
      const ref = controllerRefOf(pod);
      if (!ref || seen.has(ref.uid)) continue;
      const r = resourceForKind(ref.kind, ref.apiVersion);
      if (!r || !r.subresources.includes('scale')) continue;
      try {
        const s = await this.d.client.getScale(r.resource, ref.name, { namespace: pod.metadata.namespace! });
        if (s.metadata.uid === ref.uid) seen.set(ref.uid, s.spec?.replicas ?? 0);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return seen.size === 0 ? undefined : [...seen.values()].reduce((a, b) => a + b, 0);
  }
}

/** A null selector selects nothing, an empty one every pod of the namespace (policy/v1). */
function selects(pdb: PodDisruptionBudget, pod: Pod): boolean {
  try {
    return labelSelectorFromObject(pdb.spec?.selector).matches(pod.metadata.labels ?? {});
  } catch {
    return false;
  }
}

function needsScale(pdb: PodDisruptionBudget): boolean {
  return pdb.spec?.maxUnavailable !== undefined || typeof pdb.spec?.minAvailable === 'string';
}

export const disruptionControllerFactory: ControllerFactory = (ctx) =>
  new DisruptionController({
    pdbs: ctx.informers.informer<PodDisruptionBudget>('poddisruptionbudgets'),
    pods: ctx.informers.informer<Pod>('pods'),
    client: ctx.client,
    log: ctx.log,
    now: ctx.now,
  });
