/**
 * PATCH request plumbing: which patch a Content-Type names, parsing the body,
 * and one entry point applying any of the three.
 */
import { statusFor } from '../errors.js';
import type { Status } from '../types.js';
import { PatchError } from './errors.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic.js';

export type ServerPatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, ServerPatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

/** `application/merge-patch+json; charset=utf-8` → `merge`; undefined for anything else. */
export function patchTypeForContentType(contentType: string | undefined): ServerPatchType | undefined {
  if (!contentType) return undefined;
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return PATCH_CONTENT_TYPES[media];
}

/** Parses a PATCH body; a syntax error becomes a 400 naming the patch type. */
export function parsePatchBody(type: ServerPatchType, body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new PatchError(`invalid ${type} patch body: ${(err as Error).message}`, 400);
  }
}

/**
 * Applies a parsed patch of `type` to `doc`, an object of `kind`. Returns a
 * new object; `doc` is untouched. Server-side apply is not implemented (415).
 */
export function applyPatch<T = unknown>(type: ServerPatchType, doc: T, patch: unknown, kind: string): T {
  switch (type) {
    case 'json':
      return applyJsonPatch(doc, patch);
    case 'merge':
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
        throw new PatchError('merge patch must be a JSON object', 400);
      }
      return applyMergePatch(doc, patch);
    case 'strategic':
      return applyStrategicMergePatch(doc, patch, kind);
    case 'apply':
      throw new PatchError('server-side apply (application/apply-patch+yaml) is not supported; use client-side kubectl apply', 415);
  }
}

/** The Status to answer a failed PATCH with (400 BadRequest, 415 UnsupportedMediaType, 422 Invalid). */
export function patchErrorStatus(err: PatchError): Status {
  const reason = err.code === 415 ? 'UnsupportedMediaType' : err.code === 422 ? 'Invalid' : 'BadRequest';
  return statusFor(err.code, reason, err.message);
}
