import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError, patchErrorStatus, schemaForKind, unsupportedMediaType } from '@pilot/api';
import { fromStatus } from '../status.js';

/** The three PATCH bodies kube-apiserver takes (apply patches are not served). */
export type PatchType = 'merge-patch' | 'strategic-merge-patch' | 'json-patch';

/**
 * PATCH bodies, applied with @pilot/api's patch implementations (the
 * strategic merge patch there knows every kind's merge keys from the schema
 * table). A patch that cannot be applied becomes a Status with the code
 * PatchError carries (400 malformed, 422 inapplicable, 415 unsupported).
 */
export function applyPatch(type: PatchType, current: unknown, patch: unknown, kind: string, apiVersion: string): unknown {
  try {
    switch (type) {
      case 'merge-patch':
        return applyMergePatch(current, patch);
      case 'strategic-merge-patch':
        // Kinds without a schema (Scale) have no merge keys: a merge patch is the same thing.
        return schemaForKind(kind, apiVersion) ? applyStrategicMergePatch(current, patch, kind, apiVersion) : applyMergePatch(current, patch);
      case 'json-patch':
        return applyJsonPatch(current, patch);
      default:
        throw fromStatus(unsupportedMediaType(String(type)));
    }
  } catch (err) {
    if (err instanceof PatchError) throw fromStatus(patchErrorStatus(err));
    throw err;
  }
}
