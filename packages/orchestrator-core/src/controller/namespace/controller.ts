/**
 * The namespace controller (kube-controller-manager's pkg/controller/namespace):
 * `kubectl delete namespace x` leaves x Terminating with the `kubernetes`
 * finalizer; this controller deletes every namespaced object in it
 * (deletecollection per resource, Background propagation), waits for what is
 * still terminating, and then removes its finalizer through
 * `namespaces/x/finalize`, after which the apiserver removes the namespace.
 * Handlers enqueue namespace names; syncNamespace reads the namespace afresh.
 */
import { isNotFound, resourcePath, RESOURCES, runWorkers, WorkQueue, type ApiClient, type Namespace, type NamespaceCondition } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Controller, ControllerFactory } from '../controller.js';
import { contentState, finalizersAfter, planNamespace, type Remaining } from './plan.js';

export const NAME = 'namespace';
const WORKERS = 5;

export interface NamespaceControllerDeps {
  client: ApiClient;
  log: Logger;
  now: () => number;
}

export class NamespaceController implements Controller {
  readonly name = NAME;
  readonly queue = new WorkQueue<string>({ name: NAME });

  constructor(
    private readonly d: NamespaceControllerDeps,
    namespaces: { addHandler: (h: { onAdd?: (ns: Namespace) => void; onUpdate?: (o: Namespace, n: Namespace) => void }) => unknown },
  ) {
    const enqueue = (ns: Namespace) => {
      if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
    };
    namespaces.addHandler({ onAdd: enqueue, onUpdate: (_o, ns) => enqueue(ns) });
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await runWorkers(this.queue, WORKERS, (name) => this.syncNamespace(name), {
        signal,
        onError: (name, err) => this.d.log.warn({ namespace: name, err: (err as Error).message }, 'deleting namespace content failed; retrying'),
      });
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  async syncNamespace(name: string): Promise<void> {
    const client = this.d.client;
    let ns: Namespace;
    try {
      ns = await client.get<Namespace>('namespaces', name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (planNamespace(ns).action === 'none') return;
    const resources = RESOURCES.filter((r) => r.namespaced && r.verbs.includes('deletecollection'));
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' };
    for (const r of resources) await client.request('DELETE', resourcePath(r, { namespace: name }), { body });
    const remaining: Remaining[] = [];
    for (const r of resources) remaining.push({ resource: r.group ? `${r.resource}.${r.group}` : r.resource, items: (await client.list(r.resource, { namespace: name })).items });
    const state = contentState(remaining, new Date(this.d.now()));
    if (!state.done) {
      await this.setConditions(ns, state.conditions);
      this.d.log.info({ namespace: name, waitMs: state.retryAfterMs, remaining: state.conditions[0]?.message }, 'namespace content remaining');
      this.queue.addAfter(name, state.retryAfterMs);
      return;
    }
    try {
      await client.request('PUT', `${resourcePath(RESOURCES.find((r) => r.resource === 'namespaces')!, { name })}/finalize`, {
        body: { ...ns, spec: { ...ns.spec, finalizers: finalizersAfter(ns) } },
      });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.d.log.info({ namespace: name }, 'namespace content deleted; finalized');
  }

  /** Upstream's namespace conditions, written only when they change (best effort). */
  private async setConditions(ns: Namespace, conditions: NamespaceCondition[]): Promise<void> {
    const current = ns.status?.conditions ?? [];
    const same = conditions.every((c) => current.some((x) => x.type === c.type && x.status === c.status && x.message === c.message));
    if (same) return;
    const keep = current.filter((c) => !conditions.some((x) => x.type === c.type));
    try {
      await this.d.client.patchStatus('namespaces', ns.metadata.name!, { status: { conditions: [...keep, ...conditions] } }, 'merge');
    } catch (err) {
      if (!isNotFound(err)) this.d.log.debug({ namespace: ns.metadata.name, err: (err as Error).message }, 'could not write namespace conditions');
    }
  }
}

export const namespaceControllerFactory: ControllerFactory = (ctx) =>
  new NamespaceController({ client: ctx.client, log: ctx.log, now: ctx.now }, ctx.informers.informer<Namespace>('namespaces'));
