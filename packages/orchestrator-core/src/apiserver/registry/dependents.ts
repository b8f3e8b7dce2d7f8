import { RESOURCES, type DeleteOptions, type KubeObject, type ResourceInfo } from '@pilot/api';
import type { Logger } from '@pilot/common';
import { StatusError } from '../status.js';
import type { ObjectAccess } from './access.js';

/**
 * Cascading deletion without a garbage collector: when a delete asks for
 * `propagationPolicy: Background` or `Foreground` (kubectl always sends
 * Background), objects in the same namespace whose ownerReferences name the
 * deleted object's uid are deleted too (pods of an RC go through their normal
 * graceful deletion). Without a policy, or with Orphan, dependents stay.
 */
export function cascades(opts: DeleteOptions): boolean {
  return opts.propagationPolicy === 'Background' || opts.propagationPolicy === 'Foreground';
}

export async function deleteDependents(objects: ObjectAccess, owner: ResourceInfo, deleted: KubeObject, log: Logger): Promise<number> {
  const uid = deleted.metadata.uid;
  if (!uid || !owner.namespaced) return 0;
  let count = 0;
  for (const r of RESOURCES) {
    if (!r.namespaced || r.resource === 'events') continue;
    const list = await objects.list(r, deleted.metadata.namespace);
    for (const obj of list.items) {
      if (!obj.metadata.ownerReferences?.some((o) => o.uid === uid)) continue;
      try {
        // One level, as before there was a garbage collector: no policy, so no further cascade.
        await objects.delete(r, obj.metadata.namespace, obj.metadata.name!, {});
        count++;
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
  }
  if (count) log.info({ owner: `${owner.resource}/${deleted.metadata.namespace}/${deleted.metadata.name}`, count }, 'deleted dependents');
  return count;
}
