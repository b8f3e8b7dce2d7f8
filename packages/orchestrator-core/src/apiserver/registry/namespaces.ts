import { RESOURCES, type Namespace } from '@pilot/api';
import { forbidden, StatusError } from '../status.js';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * Namespaces are Active from birth (no namespace controller finalizes them
 * yet). Deleting one first empties it: with no namespace controller, the
 * apiserver deletes each object itself (through the registry, so service
 * IPs, node ports and mirrored slices are released), so a namespace created
 * again later starts empty. The system namespaces cannot be deleted, as in
 * Kubernetes. (A namespace controller would take this over through
 * `namespaces/finalize`, a subresource row below.)
 */

export const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as Namespace).status = { phase: 'Active' };
  },

  async beforeDelete(old, _opts, ctx) {
    const name = old.metadata.name!;
    if (UNDELETABLE_NAMESPACES.has(name)) throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    for (const r of RESOURCES) {
      if (!r.namespaced || r.resource === 'endpointslices') continue;
      const list = await ctx.objects.list(r, name);
      for (const obj of list.items) {
        try {
          await ctx.objects.delete(r, name, obj.metadata.name!, { gracePeriodSeconds: 0 });
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
      if (list.items.length) ctx.log.info({ namespace: name, resource: r.resource, count: list.items.length }, 'deleted namespace contents');
    }
    // Slices mirrored from Endpoints went with them; remove any written directly.
    const slices = RESOURCES.find((r) => r.resource === 'endpointslices')!;
    for (const obj of (await ctx.objects.list(slices, name)).items) await ctx.objects.delete(slices, name, obj.metadata.name!).catch(() => undefined);
  },
};

export const namespaceSubresources: SubresourceMap = { status: statusSubresource };
