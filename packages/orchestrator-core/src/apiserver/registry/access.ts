import type { DeleteOptions, KubeObject, List, ResourceInfo } from '@pilot/api';
import type { PatchType } from './patch.js';

/**
 * What strategies, subresources and the apiserver's own writers (events,
 * bootstrap, cascading deletes) may do with objects: the REST verbs of the
 * generic registry, as an interface so those modules never import the
 * registry that imports them.
 */

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/**
 * How an update turns the stored object and the requested one into what is
 * stored (kube-apiserver's PrepareForUpdate per REST endpoint): `main` keeps
 * server-owned metadata and, when the resource has a status subresource, the
 * status; `status` takes only the status; `internal` stores the change as
 * it is (the apiserver's own, already-checked writes such as a binding).
 */
export type UpdateKind = 'main' | 'status' | 'internal';

export interface WriteOptions {
  /** false: no Events about the write (the apiserver's own bootstrap writes). Default true. */
  events?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  kind?: UpdateKind;
  /** Sees each patched object before defaulting and validation, may refuse or trim it (fieldValidation). */
  check?: (patched: KubeObject, current: KubeObject) => KubeObject;
}

export interface PatchRequest {
  type: PatchType;
  /** The decoded patch document. */
  patch: unknown;
}

export interface ObjectAccess {
  get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject>;
  list(r: ResourceInfo, namespace: string | undefined, opts?: ListOptions): Promise<List>;
  create(r: ResourceInfo, namespace: string | undefined, body: unknown, opts?: WriteOptions): Promise<KubeObject>;
  /** PUT: a whole object; its metadata.resourceVersion, when set, must be current (409 otherwise). */
  update(r: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts?: UpdateOptions): Promise<KubeObject>;
  patch(r: ResourceInfo, namespace: string | undefined, name: string, patch: PatchRequest, opts?: UpdateOptions): Promise<KubeObject>;
  /**
   * Read-modify-write with a revision guard: `change` gets a copy of the
   * current object. With `wantRv` a lost race is 409; without, the change is
   * re-applied to the newer object.
   */
  mutate(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    wantRv: number | undefined,
    change: (cur: KubeObject) => KubeObject,
    kind?: UpdateKind,
  ): Promise<KubeObject>;
  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
}
