/**
 * RFC 7386 JSON Merge Patch (`application/merge-patch+json`): what `kubectl
 * label`, `annotate`, `scale` and `patch --type=merge` send. Objects merge
 * recursively, `null` deletes, everything else (lists included) replaces.
 */
import { cloneJson, isObject } from './json-value.js';

export function applyMergePatch<T = unknown>(doc: T, patch: unknown): T {
  return merge(cloneJson(doc), patch) as T;
}

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const out: Record<string, unknown> = isObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}
