/**
 * A compact description of the served types' JSON shapes. It is the single
 * source of truth for three consumers: the OpenAPI v3 documents kubectl
 * downloads, the strategic-merge-patch merge keys / strategies, and the
 * server-side unknown-field check. Adding a field or a merge key here changes
 * all three at once.
 */

export type PatchStrategy = 'merge' | 'replace' | 'merge,retainKeys' | 'retainKeys';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type FieldSchema =
  | { type: 'string'; format?: string; enum?: readonly string[]; description?: string }
  | { type: 'integer'; format: 'int32' | 'int64'; description?: string }
  | { type: 'number'; format?: 'double'; description?: string }
  | { type: 'boolean'; description?: string }
  /** intstr.IntOrString: a number or a string (`targetPort`, probe ports). */
  | { type: 'int-or-string'; description?: string }
  /** resource.Quantity: `"100m"`, `"64Mi"` or a number. */
  | { type: 'quantity'; description?: string }
  /** metav1.Time (`micro: false`) or metav1.MicroTime (`micro: true`). */
  | { type: 'time'; micro?: boolean; description?: string }
  /** A named struct from the definitions table. */
  | { type: 'ref'; ref: string; description?: string }
  | { type: 'map'; values: FieldSchema; description?: string }
  | ArraySchema
  /**
   * A part of an object we store but do not model (securityContext,
   * affinity, …): any content is accepted and kept as is.
   */
  | { type: 'free'; description?: string };

export interface ArraySchema {
  type: 'array';
  items: FieldSchema;
  /** x-kubernetes-patch-strategy (strategic merge patch); absent = replace the whole list. */
  patchStrategy?: PatchStrategy;
  /** x-kubernetes-patch-merge-key: the field identifying an element of a merged list of objects. */
  mergeKey?: string;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  description?: string;
}

export interface StructSchema {
  description?: string;
  properties: Readonly<Record<string, FieldSchema>>;
  required?: readonly string[];
  /** Set on top-level kinds: x-kubernetes-group-version-kind. */
  gvk?: GroupVersionKind;
}

// ------------------------------------------------------------ constructors

export const str = (description?: string, enumValues?: readonly string[]): FieldSchema => ({
  type: 'string',
  ...(description ? { description } : {}),
  ...(enumValues ? { enum: enumValues } : {}),
});
export const byteStr = (): FieldSchema => ({ type: 'string', format: 'byte' });
export const int32 = (description?: string): FieldSchema => ({ type: 'integer', format: 'int32', ...(description ? { description } : {}) });
export const int64 = (description?: string): FieldSchema => ({ type: 'integer', format: 'int64', ...(description ? { description } : {}) });
export const bool = (description?: string): FieldSchema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const intOrString = (description?: string): FieldSchema => ({ type: 'int-or-string', ...(description ? { description } : {}) });
export const quantity = (): FieldSchema => ({ type: 'quantity' });
export const time = (description?: string): FieldSchema => ({ type: 'time', ...(description ? { description } : {}) });
export const microTime = (description?: string): FieldSchema => ({ type: 'time', micro: true, ...(description ? { description } : {}) });
export const ref = (name: string, description?: string): FieldSchema => ({ type: 'ref', ref: name, ...(description ? { description } : {}) });
export const mapOf = (values: FieldSchema, description?: string): FieldSchema => ({ type: 'map', values, ...(description ? { description } : {}) });
export const free = (description?: string): FieldSchema => ({ type: 'free', ...(description ? { description } : {}) });

/** A list replaced as a whole by strategic merge patch (no patch strategy). */
export const atomicList = (items: FieldSchema, description?: string): ArraySchema => ({
  type: 'array',
  items,
  listType: 'atomic',
  ...(description ? { description } : {}),
});

/** A list of objects merged element by element, identified by `mergeKey`. */
export const mergedList = (
  items: FieldSchema,
  mergeKey: string,
  opts: { retainKeys?: boolean; listMapKeys?: readonly string[]; description?: string } = {},
): ArraySchema => ({
  type: 'array',
  items,
  patchStrategy: opts.retainKeys ? 'merge,retainKeys' : 'merge',
  mergeKey,
  listType: 'map',
  listMapKeys: opts.listMapKeys ?? [mergeKey],
  ...(opts.description ? { description: opts.description } : {}),
});

/** A list of primitives merged as a set (finalizers, podCIDRs). */
export const mergedSet = (items: FieldSchema, description?: string): ArraySchema => ({
  type: 'array',
  items,
  patchStrategy: 'merge',
  listType: 'set',
  ...(description ? { description } : {}),
});

/** Splits `merge,retainKeys` into its parts. */
export function strategyParts(s: PatchStrategy | undefined): { merge: boolean; retainKeys: boolean } {
  const parts = (s ?? '').split(',');
  return { merge: parts.includes('merge'), retainKeys: parts.includes('retainKeys') };
}
