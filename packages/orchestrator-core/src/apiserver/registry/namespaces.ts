import { RESOURCES, type KubeObject } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { forbidden, StatusError } from '../status.js';
import type { Store } from './store.js';

/**
 * Namespace deletion. With no namespace controller yet, the apiserver
 * empties the namespace itself before removing it (each object through the
 * Store, so service IPs, node ports and mirrored slices are released), so a
 * namespace created again later starts empty. The system namespaces cannot
 * be deleted, as in Kubernetes.
 */

export const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export async function deleteNamespace(store: Store, name: string, log: Logger): Promise<KubeObject> {
  if (UNDELETABLE_NAMESPACES.has(name)) throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
  const nsRes = RESOURCES.find((r) => r.resource === 'namespaces')!;
  await store.get(nsRes, undefined, name);
  for (const r of RESOURCES) {
    if (!r.namespaced || r.resource === 'endpointslices') continue;
    const list = await store.list(r, name);
    for (const obj of list.items) {
      try {
        await store.delete(r, name, obj.metadata.name!, { gracePeriodSeconds: 0 });
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
    if (list.items.length) log.info({ namespace: name, resource: r.resource, count: list.items.length }, 'deleted namespace contents');
  }
  // Slices mirrored from Endpoints went with them; remove any written directly.
  const slices = RESOURCES.find((r) => r.resource === 'endpointslices')!;
  for (const obj of (await store.list(slices, name)).items) await store.delete(slices, name, obj.metadata.name!).catch(() => undefined);
  return store.delete(nsRes, undefined, name);
}
