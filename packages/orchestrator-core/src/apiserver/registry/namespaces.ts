import { formatTime, isObject, qualifiedNameError, type Namespace } from '@pilot/api';
import { badRequest, forbidden, invalid } from '../status.js';
import type { DeletePlan, Strategy } from './strategy.js';
import { statusSubresource, type Subresource, type SubresourceMap } from './subresources.js';

/**
 * Namespaces as kube-apiserver serves them (pkg/registry/core/namespace):
 * born Active with spec.finalizers [kubernetes]; a DELETE marks the namespace
 * Terminating (deletionTimestamp) and nothing new may be created in it; the
 * namespace controller deletes its content and removes its finalizer through
 * `namespaces/<name>/finalize`, and the update that leaves neither
 * spec.finalizers nor metadata.finalizers removes the namespace. Only
 * finalize changes spec.finalizers. The system namespaces cannot be deleted.
 */

export const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    (obj as Namespace).status = { phase: 'Active' };
  },

  prepareForUpdate(obj, old) {
    const ns = obj as Namespace;
    const finalizers = (old as Namespace).spec?.finalizers;
    ns.spec = { ...(ns.spec ?? {}) };
    if (finalizers) ns.spec.finalizers = finalizers;
    else delete ns.spec.finalizers;
  },

  async beforeDelete(old) {
    const name = old.metadata.name!;
    if (UNDELETABLE_NAMESPACES.has(name)) throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
  },

  async planDelete(old): Promise<DeletePlan> {
    const ns = old as Namespace;
    if (!ns.spec?.finalizers?.length) return { kind: 'now' };
    const marked = structuredClone(ns);
    marked.metadata.deletionTimestamp ??= formatTime();
    marked.status = { ...(marked.status ?? {}), phase: 'Terminating' };
    return { kind: 'mark', obj: marked };
  },

  canFinishDeletion: (obj) => !(obj as Namespace).spec?.finalizers?.length,
};

/** PUT namespaces/<name>/finalize (FinalizeREST): writes spec.finalizers only; emptied on a deleted namespace, the namespace goes. */
export const finalizeSubresource: Subresource = {
  async update(call, body, ctx) {
    const checked = call.checkFields(body);
    if (!isObject(checked)) throw badRequest('the body must be a Namespace object');
    const spec = isObject(checked.spec) ? checked.spec : {};
    const finalizers = spec.finalizers ?? [];
    if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string'))
      throw invalid('Namespace', call.name, [{ type: 'FieldValueInvalid', field: 'spec.finalizers', message: 'Invalid value: must be a list of strings' }]);
    const problems = (finalizers as string[]).flatMap((f, i) => {
      const err = qualifiedNameError(f);
      return err ? [{ type: 'FieldValueInvalid' as const, field: `spec.finalizers[${i}]`, message: `Invalid value: ${JSON.stringify(f)}: ${err}` }] : [];
    });
    if (problems.length) throw invalid('Namespace', call.name, problems);
    const meta = isObject(checked.metadata) ? checked.metadata : {};
    const wantRv = typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? Number(meta.resourceVersion) : undefined;
    return ctx.objects.mutate(
      call.resource,
      undefined,
      call.name,
      wantRv,
      (cur) => {
        const ns = cur as Namespace;
        ns.spec = { ...(ns.spec ?? {}), finalizers: finalizers as string[] };
        return ns;
      },
      'internal',
    );
  },
};

export const namespaceSubresources: SubresourceMap = { status: statusSubresource, finalize: finalizeSubresource };
