/**
 * RFC 7386 JSON Merge Patch (`application/merge-patch+json`): what `kubectl
 * label`, `annotate`, `scale` and `patch --type=merge` send. Objects merge
 * (without recursion, so any depth the decoder lets through is safe), `null`
 * deletes, everything else (lists included) replaces.
 */
import { cloneJson, mergeJson } from './json-value.js';

export function applyMergePatch<T = unknown>(doc: T, patch: unknown): T {
  return mergeJson(cloneJson(doc), patch) as T;
}
