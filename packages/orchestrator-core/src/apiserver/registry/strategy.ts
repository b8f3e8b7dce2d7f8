import type { DeleteOptions, KubeObject, ResourceInfo } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { Storage, TxnCompare, TxnOp } from '../storage/interface.js';
import type { FieldProblem } from '../status.js';
import type { IpAllocator, PortAllocator } from '../allocator.js';
import type { ObjectAccess } from './access.js';
import type { EventRecorder, Involved } from './events.js';

/**
 * What differs between resources on a write: how create/update shape the
 * object, what must be written in the same storage transaction (service IP
 * reservations, the mirrored EndpointSlice), how deletion proceeds, what
 * else happens around a write (events). The generic registry runs the
 * transaction; a strategy only describes it. Subresources (status, binding,
 * scale, log, exec, ...) are the other half of a resource's registration
 * (subresources.ts, table.ts).
 */

export interface StrategyContext {
  storage: Storage;
  serviceIPs: IpAllocator;
  nodePorts: PortAllocator;
  log: Logger;
  /** Events the apiserver records about what it does itself. */
  events: EventRecorder;
  /** The registry's verbs, for strategies and subresources that act on other objects. */
  objects: ObjectAccess;
}

/** A create or update of the main resource, after the fact (or its failure). */
export interface WriteOutcome {
  /** The object before an update; undefined on create. */
  before?: KubeObject;
  /** What was written, or the refused object's kind/namespace/name. */
  target: Involved;
  after?: KubeObject;
  error?: unknown;
}

/** Extra guarded writes that ride in the object's transaction. */
export interface WriteExtras {
  compares: TxnCompare[];
  ops: TxnOp[];
  /**
   * Keys whose compare failure means "someone took what we picked" rather
   * than a conflict on the object: the registry retries with a fresh pick, or
   * reports `onTaken` when the user asked for that exact value.
   */
  retryKeys?: Set<string>;
  onTaken?: (key: string) => Error | undefined;
}

export const NO_EXTRAS: WriteExtras = { compares: [], ops: [] };

/**
 * What a delete does to dependents when the request names no policy
 * (kube-apiserver's GarbageCollectionPolicy): DeleteDependents (the
 * collector deletes them in the background), OrphanDependents (v1
 * ReplicationControllers, for backward compatibility), Unsupported (no
 * collector finalizers at all).
 */
export type GarbageCollectionPolicy = 'DeleteDependents' | 'OrphanDependents' | 'Unsupported';

/** How a delete proceeds: remove now, or mark the object terminating (graceful). */
export type DeletePlan = { kind: 'now' } | { kind: 'mark'; obj: KubeObject };

export interface Strategy {
  /** Create: clear what users may not set (status), fill server-owned fields. */
  prepareForCreate?(obj: KubeObject): void;
  /** Update of the main resource: keep what the main resource may not change (status). */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Extra validation beyond the shared object validation. */
  validate?(obj: KubeObject, old?: KubeObject): FieldProblem[];
  createExtras?(obj: KubeObject, ctx: StrategyContext, attempt: number): Promise<WriteExtras>;
  updateExtras?(obj: KubeObject, old: KubeObject, ctx: StrategyContext, attempt: number): Promise<WriteExtras>;
  deleteExtras?(old: KubeObject, ctx: StrategyContext): Promise<WriteExtras>;
  planDelete?(old: KubeObject, opts: DeleteOptions, ctx: StrategyContext): Promise<DeletePlan>;
  /** Before a delete is planned: refuse it (throw). */
  beforeDelete?(old: KubeObject, opts: DeleteOptions, ctx: StrategyContext): Promise<void>;
  /** Default DeleteDependents. */
  defaultGarbageCollectionPolicy?: GarbageCollectionPolicy;
  /**
   * An object being deleted is removed by the update that leaves it without
   * finalizers; a resource may hold it longer (a namespace until its
   * spec.finalizers are empty too: ShouldDeleteNamespaceDuringUpdate).
   */
  canFinishDeletion?(obj: KubeObject): boolean;
  /** After a create or update of the main resource by a client, or its failure: side effects only (events), never the outcome. */
  afterWrite?(w: WriteOutcome, ctx: StrategyContext): Promise<void>;
}

/** Whether anything outside metadata and status changed: that bumps metadata.generation. */
export function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, kind: _k, apiVersion: _v, ...rest } = o;
    return stableStringify(rest);
  };
  return strip(a) !== strip(b);
}

/** JSON with object keys sorted, so equal objects compare equal whatever their key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function kindLabel(r: ResourceInfo): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}
