/**
 * The serviceaccount controller (kube-controller-manager's
 * pkg/controller/serviceaccount/serviceaccounts_controller.go): every Active
 * namespace has a `default` ServiceAccount; one that is deleted comes back.
 * Handlers enqueue namespace names; syncNamespace reads the caches and
 * creates what `missingServiceAccounts` names. No tokens are issued.
 */
import { isAlreadyExists, isNamespaceTerminating, isNotFound, runWorkers, WorkQueue, type Namespace, type ServiceAccount } from '@pilot/api';
import type { Controller, ControllerContext } from '../controller.js';
import { missingServiceAccounts, serviceAccountFor } from './plan.js';

export const NAME = 'serviceaccount';
const WORKERS = 1;

export function serviceAccountsControllerFactory(ctx: ControllerContext): Controller {
  const namespaces = ctx.informers.informer<Namespace>('namespaces');
  const accounts = ctx.informers.informer<ServiceAccount>('serviceaccounts');
  const queue = new WorkQueue<string>({ name: NAME });
  const log = ctx.log;

  namespaces.addHandler({
    onAdd: (ns) => queue.add(ns.metadata.name!),
    onUpdate: (_old, ns) => queue.add(ns.metadata.name!),
  });
  accounts.addHandler({ onDelete: (sa) => queue.add(sa.metadata.namespace!) });

  async function syncNamespace(name: string): Promise<void> {
    const ns = namespaces.indexer.getByName(undefined, name);
    for (const sa of missingServiceAccounts(ns, (n) => accounts.indexer.getByName(name, n) !== undefined)) {
      try {
        await ctx.client.create('serviceaccounts', serviceAccountFor(name, sa));
        log.info({ namespace: name, serviceaccount: sa }, 'created service account');
      } catch (err) {
        // Someone was first, the namespace went, or it is terminating: nothing to do.
        if (isAlreadyExists(err) || isNotFound(err) || isNamespaceTerminating(err)) continue;
        throw err;
      }
    }
  }

  return {
    name: NAME,
    async run(signal) {
      const stop = () => queue.shutDown();
      signal.addEventListener('abort', stop, { once: true });
      try {
        await runWorkers(queue, WORKERS, syncNamespace, { signal, onError: (key, err) => log.warn({ namespace: key, err: String(err) }, 'syncing service accounts failed; retrying') });
      } finally {
        signal.removeEventListener('abort', stop);
      }
    },
  };
}
