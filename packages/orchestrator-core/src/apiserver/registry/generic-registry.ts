import { randomBytes, randomUUID } from 'node:crypto';
import {
  apiVersionOf,
  checkFieldSelector,
  formatTime,
  isObject,
  matchesFields,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type DeleteOptions,
  type FieldSelector,
  type KubeObject,
  type LabelSelector,
  type List,
  type ResourceInfo,
  type WatchEvent,
} from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { IpAllocator, PortAllocator } from '../allocator.js';
import { decode, encode } from '../storage/codec.js';
import { CompactedError, type StorageError } from '../storage/errors.js';
import type { Storage, StorageEvent, Stored, TxnCompare, TxnOp, TxnResult } from '../storage/interface.js';
import { filterEvent, type Subscription, type WatchCache, type WatchCaches } from '../storage/watch-cache.js';
import { alreadyExists, badRequest, conflict, expired, forbidden, invalid, notFound, pathSegmentError, StatusError, tooLargeResourceVersion, type FieldProblem } from '../status.js';
import type { ListOptions, ObjectAccess, PatchRequest, UpdateKind, UpdateOptions, WriteOptions } from './access.js';
import { deletionFinalizers } from './finalizers.js';
import { EventRecorder, type Involved } from './events.js';
import { carryServerMeta, checkRequestIdentity } from './object-meta.js';
import { applyPatch } from './patch.js';
import { kindLabel, NO_EXTRAS, specChanged, stableStringify, type Strategy, type StrategyContext, type WriteExtras } from './strategy.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../admission/admission.js';
import { requestUser } from '../authorization/request-user.js';
import { NamespaceGuard } from './namespace-guard.js';
import type { Subresource } from './subresources.js';
import type { ResourceTable } from './table.js';

/**
 * The generic registry (kube-apiserver's `registry/generic/registry.Store`):
 * get, list, watch, create, update, patch, delete and deletecollection for
 * every resource, each write one guarded storage transaction. What differs
 * per resource is its row in the resource table: a strategy (how writes are
 * shaped, what rides in the same transaction, how deletion proceeds, what
 * happens around a write) and its subresources. It knows no HTTP.
 */

/** `status`: a write of the status subresource, judged by the status update rules only. */
export type Validator = (resource: ResourceInfo, obj: KubeObject, old?: KubeObject, status?: boolean) => FieldProblem[];
export type Defaulter = (resource: ResourceInfo, obj: KubeObject) => KubeObject;

export interface GenericRegistryDeps {
  storage: Storage;
  caches: WatchCaches;
  table: ResourceTable;
  validate: Validator;
  defaults: Defaulter;
  serviceIPs: IpAllocator;
  nodePorts: PortAllocator;
  log: Logger;
  /** How long objects of a resource live (events with --event-ttl); undefined: kept forever. */
  ttlMs?: (r: ResourceInfo) => number | undefined;
  /** Validating admission of a user's writes (requestUser); the apiserver's own writes skip it. */
  admit?: AdmissionPlugin;
}

export interface Selection {
  label: LabelSelector;
  field: FieldSelector;
  matches: (obj: KubeObject) => boolean;
  /** No selector at all: every object matches, no need to read one to know. */
  everything: boolean;
}

/** One listed object as stored: its bytes and revision, and the object when it had to be read to match a selector. */
export interface ListedItem {
  key: Buffer;
  value: Buffer;
  rv: number;
  obj?: KubeObject;
}

/** A list with its items still as stored bytes (encoded for the wire by the HTTP layer's list-encoding.ts). */
export interface RawList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string };
  items: ListedItem[];
}

/** Where a watch starts: the revision, and the current objects first when it was asked from "now" (unset or "0"). */
export interface WatchStart {
  startRv: number;
  initial: KubeObject[];
}

export interface WatchSink {
  onEvent(ev: WatchEvent): void;
  /** Every event up to `revision` has been delivered (for bookmarks). */
  onProgress(revision: number): void;
  /** The watch ended for good; the stream must close after telling the client. */
  onError(err: StatusError): void;
}

/** Parses label and field selectors; a malformed one or an unknown field label is 400. */
export function selection(r: ResourceInfo, labelSelector = '', fieldSelector = ''): Selection {
  try {
    const label = parseLabelSelector(labelSelector);
    const field = parseFieldSelector(fieldSelector);
    checkFieldSelector(r.resource, field);
    return {
      label,
      field,
      matches: (obj) => label.matches(obj.metadata.labels ?? {}) && matchesFields(r.resource, obj, field),
      everything: label.requirements.length === 0 && label.matches({}) && field.isEmpty(),
    };
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(err.message);
    throw err;
  }
}

const MAX_ATTEMPTS = 8;
/** How long a list for a future resourceVersion waits for the store to get there. */
const TOO_LARGE_RV_WAIT_MS = 3_000;
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += NAME_CHARS[b % NAME_CHARS.length];
  return s;
}

interface ContinueToken {
  rv: number;
  key: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(s: string, prefix: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString()) as ContinueToken;
    if (typeof t.rv === 'number' && typeof t.key === 'string' && t.key.startsWith(prefix)) return t;
  } catch {
    /* fall through */
  }
  throw badRequest(`continue key is not valid: "${s}"`);
}

/** The kind, namespace and name a create body asks for (what an Event about a refused create names). */
function involvedFromBody(r: ResourceInfo, ns: string | undefined, body: unknown): Involved {
  const meta = isObject(body) && isObject(body.metadata) ? body.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '';
  return { kind: r.kind, apiVersion: apiVersionOf(r), name, ...(ns ? { namespace: ns } : {}) };
}

export class GenericRegistry implements ObjectAccess {
  /** What strategies and subresources get: the storage, allocators, events and this registry's verbs. */
  readonly ctx: StrategyContext;
  readonly events: EventRecorder;
  private readonly namespaces = new NamespaceGuard();

  constructor(private readonly deps: GenericRegistryDeps) {
    this.events = new EventRecorder(this, deps.log);
    this.ctx = { storage: deps.storage, serviceIPs: deps.serviceIPs, nodePorts: deps.nodePorts, log: deps.log, events: this.events, objects: this };
  }

  private strategy(r: ResourceInfo): Strategy {
    return this.deps.table[r.resource]?.strategy ?? {};
  }

  /** The subresource `name` of a resource, when the resource table has it. */
  subresource(r: ResourceInfo, name: string): Subresource | undefined {
    return this.deps.table[r.resource]?.subresources?.[name];
  }

  /** The storage key of one object; a name or namespace that is not one path segment never makes a key (400, as kube-apiserver's KeyFunc). */
  storageKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
    const ns = r.namespaced ? namespace : undefined;
    const bad = pathSegmentError('Name', name) ?? (ns !== undefined ? pathSegmentError('Namespace', ns) : undefined);
    if (bad) throw bad;
    return this.deps.storage.keyFor(r.resource, ns, name);
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const s = await this.deps.storage.get(this.storageKey(r, namespace, name));
    if (!s) throw notFound(kindLabel(r), name);
    return withType(r, s.obj);
  }

  async list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<List> {
    const raw = await this.listRaw(r, namespace, opts);
    return { apiVersion: raw.apiVersion, kind: raw.kind, metadata: raw.metadata, items: raw.items.map((i) => itemObject(r, i)) };
  }

  /**
   * The objects of a list as stored (selected, limited and continued as
   * `list` does), for responses encoded from the stored bytes: without a
   * selector no object is parsed at all.
   */
  async listRaw(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<RawList> {
    const sel = selection(r, opts.labelSelector, opts.fieldSelector);
    const prefix = this.deps.storage.prefixFor(r.resource, r.namespaced ? namespace : undefined);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    let fromKey: string | undefined;
    let revision = 0;
    const exact = opts.resourceVersionMatch === 'Exact';
    if (opts.continue) {
      const t = decodeContinue(opts.continue, prefix);
      fromKey = t.key;
      revision = t.rv;
    } else if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
      // kube-apiserver's list semantics: unset match or NotOlderThan reads the
      // current state once the store has reached that revision; Exact reads at it.
      const asked = Number(opts.resourceVersion);
      if (!Number.isSafeInteger(asked) || asked < 0) throw badRequest(`invalid resourceVersion "${opts.resourceVersion}"`);
      await this.waitForRevision(asked);
      if (exact) revision = asked;
    }
    const items: ListedItem[] = [];
    let next: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.deps.storage.listRaw(prefix, { limit: limit ? limit + 1 : 0, ...(fromKey ? { fromKey } : {}), revision });
      } catch (err) {
        if (err instanceof CompactedError && exact && !opts.continue) throw expired('The resourceVersion for the provided list is too old.');
        if (err instanceof CompactedError)
          throw expired(`The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.`);
        throw err;
      }
      revision = page.revision;
      let cut = false;
      for (const kv of page.items) {
        if (limit && items.length === limit) {
          next = kv.key.toString();
          cut = true;
          break;
        }
        const item: ListedItem = { key: kv.key, value: kv.value, rv: kv.rv };
        if (!sel.everything) {
          item.obj = decode(kv).obj;
          if (!sel.matches(item.obj)) continue;
        }
        items.push(item);
      }
      if (cut || !page.nextKey) break;
      if (limit && items.length === limit) {
        next = page.nextKey;
        break;
      }
      fromKey = page.nextKey;
    }
    const list: RawList = { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata: { resourceVersion: String(revision) }, items };
    if (next) list.metadata.continue = encodeContinue({ rv: revision, key: next });
    return list;
  }

  /**
   * Waits (up to 3 s, the watch cache's wait) until the store has reached
   * `rv`; a revision still in the future is 504 as kube-apiserver's
   * `Too large resource version` (clients retry after a second).
   */
  private async waitForRevision(rv: number): Promise<void> {
    const deadline = Date.now() + TOO_LARGE_RV_WAIT_MS;
    for (;;) {
      const current = await this.deps.storage.revision();
      if (current >= rv) return;
      if (Date.now() >= deadline) throw tooLargeResourceVersion(rv, current);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // ------------------------------------------------------------- watch

  /**
   * Where a watch starts. Without a resourceVersion (or "0") the current
   * objects come first as synthetic ADDED events (kubectl `get x -w` drops
   * the first event and counts on it).
   */
  async watchStart(r: ResourceInfo, namespace: string | undefined, sel: Selection, resourceVersion: string | undefined): Promise<WatchStart> {
    if (resourceVersion === undefined || resourceVersion === '' || resourceVersion === '0') {
      const list = await this.list(r, namespace, { labelSelector: sel.label.toString(), fieldSelector: sel.field.toString() });
      return { startRv: Number(list.metadata.resourceVersion), initial: list.items };
    }
    const startRv = Number(resourceVersion);
    if (!Number.isInteger(startRv) || startRv < 0) throw badRequest(`invalid resourceVersion "${resourceVersion}"`);
    return { startRv, initial: [] };
  }

  /**
   * Changes after `startRv` that the selection sees: from the resource's
   * watch cache, or an own storage watch when the cache no longer reaches
   * that far back. An object that starts or stops matching arrives as
   * ADDED / DELETED. A compacted revision ends the watch with 410.
   */
  async subscribe(r: ResourceInfo, namespace: string | undefined, sel: Selection, startRv: number, sink: WatchSink): Promise<Subscription> {
    const prefix = this.deps.storage.prefixFor(r.resource, r.namespaced ? namespace : undefined);
    const cache = await this.deps.caches.forPrefix(this.deps.storage.prefixFor(r.resource));
    const onEvent = (ev: StorageEvent) => {
      if (ev.rv <= startRv || !ev.key.startsWith(prefix)) return;
      const out = filterEvent(ev, sel.matches);
      if (out) sink.onEvent({ type: out.type, object: withType(r, out.object) });
    };
    // kube-apiserver's words for a start revision the cache and etcd no longer
    // hold, with the oldest revision a watch could start from here.
    const tooOld = (err: CompactedError) => {
      const oldest = cache.oldestServable ?? err.oldest;
      return expired(`too old resource version: ${startRv}${oldest !== undefined ? ` (${oldest})` : ''}`);
    };
    const onError = (err: StorageError) => sink.onError(err instanceof CompactedError ? tooOld(err) : expired(`watch ended: ${err.message}`));
    const cached = cache.subscribe(startRv, { onEvent, onError, onProgress: (rev) => sink.onProgress(rev) });
    if (cached) return cached;
    try {
      return await this.deps.storage.watch(
        prefix,
        startRv,
        {
          onEvents: (events, revision) => {
            for (const ev of events) onEvent(ev);
            sink.onProgress(revision);
          },
          onError,
        },
        { isolated: true },
      );
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      sink.onError(tooOld(err));
      return { cancel: () => undefined };
    }
  }

  // ------------------------------------------------------------- create

  async create(r: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const answer = this.deps.table[r.resource]?.answer;
    if (answer) return answer(r, namespace, body);
    const s = this.strategy(r);
    if (!s.afterWrite || opts.events === false) return this.createObject(r, namespace, body);
    let out: KubeObject;
    try {
      out = await this.createObject(r, namespace, body);
    } catch (err) {
      await s.afterWrite({ target: involvedFromBody(r, namespace, body), error: err }, this.ctx);
      throw err;
    }
    await s.afterWrite({ target: out, after: out }, this.ctx);
    return out;
  }

  private async createObject(r: ResourceInfo, namespace: string | undefined, body: unknown): Promise<KubeObject> {
    const obj = this.newObject(r, namespace, body);
    await this.admit({ operation: 'CREATE', resource: r, subresource: '', namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '', object: obj });
    const generated = !body || !isObject(body) || !isObject(body.metadata) || !body.metadata.name;
    for (let attempt = 0; ; attempt++) {
      if (generated && attempt > 0) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
      try {
        return await this.writeCreate(r, obj);
      } catch (err) {
        // A generated name that collided: pick another (kube-apiserver leaves this to the client).
        if (generated && err instanceof StatusError && err.reason === 'AlreadyExists' && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  private newObject(r: ResourceInfo, namespace: string | undefined, body: unknown): KubeObject {
    if (!isObject(body)) throw badRequest(`the body must be a JSON object describing a ${r.kind}`);
    const apiVersion = apiVersionOf(r);
    if (body.kind !== undefined && body.kind !== r.kind) throw badRequest(`the kind of the provided object (${String(body.kind)}) does not match the resource (${r.kind})`);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) throw badRequest(`the apiVersion of the provided object (${String(body.apiVersion)}) does not match the resource (${apiVersion})`);
    const meta = isObject(body.metadata) ? { ...body.metadata } : {};
    if (r.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace)
        throw badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
      meta.namespace = namespace;
    } else delete meta.namespace;
    const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
    const generateName = typeof meta.generateName === 'string' ? meta.generateName : undefined;
    if (!name && !generateName)
      throw invalid(r.kind, '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    meta.name = name ?? `${generateName}${randomSuffix()}`;
    meta.uid = randomUUID();
    meta.creationTimestamp = formatTime();
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    let obj = { ...body, apiVersion, kind: r.kind, metadata: meta } as KubeObject;
    obj = this.deps.defaults(r, obj);
    this.strategy(r).prepareForCreate?.(obj);
    this.check(r, obj);
    return obj;
  }

  /** Admission of a write made for the request's user (none: the apiserver's own write). */
  private async admit(a: Omit<AdmissionAttributes, 'user'>): Promise<void> {
    const user = this.deps.admit ? requestUser() : undefined;
    if (user) await this.deps.admit!({ ...a, user });
  }

  private check(r: ResourceInfo, obj: KubeObject, old?: KubeObject, status = false): void {
    const problems = [...this.deps.validate(r, obj, old, status), ...(this.strategy(r).validate?.(obj, old) ?? [])];
    if (problems.length) throw invalid(r.kind, obj.metadata.name ?? '', problems);
  }

  private async writeCreate(r: ResourceInfo, original: KubeObject): Promise<KubeObject> {
    const key = this.storageKey(r, original.metadata.namespace, original.metadata.name!);
    // A namespaced object is created only while its namespace exists and is not being deleted
    // (kube-apiserver's NamespaceLifecycle admission), checked in the same transaction.
    const nsKey = r.namespaced ? this.deps.storage.keyFor('namespaces', undefined, original.metadata.namespace!) : undefined;
    let ns = nsKey ? this.namespaces.known(nsKey) : undefined;
    for (let attempt = 0; ; attempt++) {
      if (nsKey && ns?.kind === 'unknown') ns = this.namespaces.observe(nsKey, await this.deps.storage.get(nsKey));
      if (ns?.kind === 'terminating') throw namespaceTerminating(r, original.metadata.name!, original.metadata.namespace!);
      if (ns?.kind === 'absent') throw notFound('namespaces', original.metadata.namespace!);
      // Strategies fill in what they reserve (a ClusterIP): start each attempt from the request.
      const obj = structuredClone(original);
      const extras = (await this.strategy(r).createExtras?.(obj, this.ctx, attempt)) ?? NO_EXTRAS;
      const nsCompare = nsKey && ns?.kind === 'live' ? [NamespaceGuard.compare(nsKey, ns.rv)] : [];
      const res = await this.putTxn(r, [{ key, target: 'Version', value: 0 }, ...nsCompare, ...extras.compares], { put: key, value: encode(obj) }, extras.ops);
      if (res.ok) {
        obj.metadata.resourceVersion = String(res.revision);
        return obj;
      }
      if (res.current.get(key)) throw alreadyExists(kindLabel(r), obj.metadata.name!);
      if (nsKey && nsCompare.length && failedCompare(nsCompare[0]!, res.current)) {
        // The namespace changed since it was last seen: learn how from the read-back, then decide again.
        ns = this.namespaces.observe(nsKey, res.current.get(nsKey));
        if (attempt + 1 < MAX_ATTEMPTS) continue;
      }
      this.extrasFailed(r, obj, extras, res.current, attempt);
    }
  }


  /** The object's put (with the extras) as one transaction; objects of an expiring resource carry their TTL on every put. */
  private putTxn(r: ResourceInfo, compares: readonly TxnCompare[], put: { put: string; value: string }, extraOps: readonly TxnOp[]): Promise<TxnResult> {
    const ttlMs = this.deps.ttlMs?.(r);
    return this.deps.storage.txn(compares, [ttlMs ? { ...put, ttlMs } : put, ...extraOps]);
  }

  /** A transaction failed on an extra compare: report it, or let the caller retry with a fresh pick. */
  private extrasFailed(r: ResourceInfo, obj: KubeObject, extras: WriteExtras, current: Map<string, unknown>, attempt: number): void {
    for (const c of extras.compares) {
      if (!failedCompare(c, current)) continue;
      const err = extras.onTaken?.(c.key);
      if (err) throw err;
    }
    if (attempt + 1 >= MAX_ATTEMPTS) throw conflict(kindLabel(r), obj.metadata.name ?? '', 'could not reserve resources for the object after several attempts; please retry');
  }

  // ------------------------------------------------------------- update

  async update(r: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: UpdateOptions = {}): Promise<KubeObject> {
    if (!isObject(body)) throw badRequest(`the body must be a JSON object describing a ${r.kind}`);
    checkRequestIdentity(body, r.namespaced, namespace, name);
    if (!isObject(body.metadata)) throw badRequest(`the body must be a JSON object describing a ${r.kind}`);
    const wantRv = typeof body.metadata.resourceVersion === 'string' && body.metadata.resourceVersion !== '' ? Number(body.metadata.resourceVersion) : undefined;
    return this.withAfterWrite(r, namespace, name, opts, () => this.mutate(r, namespace, name, wantRv, () => body as KubeObject, opts.kind));
  }

  async patch(r: ResourceInfo, namespace: string | undefined, name: string, p: PatchRequest, opts: UpdateOptions = {}): Promise<KubeObject> {
    let wantRv: number | undefined;
    const patch = p.patch;
    if (isObject(patch) && isObject(patch.metadata) && typeof patch.metadata.resourceVersion === 'string' && patch.metadata.resourceVersion !== '')
      wantRv = Number(patch.metadata.resourceVersion);
    const change = (cur: KubeObject) => {
      const out = applyPatch(p.type, cur, patch, r.kind, apiVersionOf(r));
      if (!isObject(out)) throw badRequest('the patched object is not a valid object');
      const checked = opts.check ? opts.check(out as KubeObject, cur) : (out as KubeObject);
      // What a patch may not change is judged on its result, as a PUT body is.
      checkRequestIdentity(checked, r.namespaced, namespace, name);
      return checked;
    };
    return this.withAfterWrite(r, namespace, name, opts, () => this.mutate(r, namespace, name, wantRv, change, opts.kind));
  }

  /** A client's update of the main resource tells its strategy what it changed (a Service: what it newly reserved). */
  private async withAfterWrite(r: ResourceInfo, namespace: string | undefined, name: string, opts: UpdateOptions, write: () => Promise<KubeObject>): Promise<KubeObject> {
    const s = this.strategy(r);
    if (!s.afterWrite || opts.events === false || (opts.kind ?? 'main') !== 'main') return write();
    const before = await this.get(r, namespace, name);
    let out: KubeObject;
    try {
      out = await write();
    } catch (err) {
      await s.afterWrite({ before, target: before, error: err }, this.ctx);
      throw err;
    }
    await s.afterWrite({ before, target: out, after: out }, this.ctx);
    return out;
  }

  async mutate(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    wantRv: number | undefined,
    change: (cur: KubeObject) => KubeObject,
    kind: UpdateKind = 'main',
  ): Promise<KubeObject> {
    const key = this.storageKey(r, namespace, name);
    const state = this.currentState(r, key);
    for (;;) {
      const cur = await state.read();
      const attempt = state.attempt;
      if (!cur) throw notFound(kindLabel(r), name);
      let old: KubeObject;
      let next: KubeObject;
      try {
        if (wantRv !== undefined && (!Number.isFinite(wantRv) || wantRv !== cur.rv)) throw conflict(kindLabel(r), name);
        old = withType(r, cur.obj);
        next = this.nextObject(r, old, change(structuredClone(old)), kind);
        if (kind !== 'internal')
          await this.admit({ operation: 'UPDATE', resource: r, subresource: kind === 'status' ? 'status' : '', namespace: namespace ?? '', name, object: next, oldObject: old });
      } catch (err) {
        // Judged on the cache's copy, which may be behind: judge again on the stored object.
        if (state.guessed) continue;
        throw err;
      }
      if (this.finishesDeletion(r, old, next)) {
        // The last finalizer of an object being deleted went: the update is its removal.
        const gone = await this.removeObject(r, key, old, cur.rv);
        if (gone) {
          next.metadata.resourceVersion = gone.metadata.resourceVersion;
          return next;
        }
        if (state.guessed) continue;
        if (wantRv !== undefined || attempt + 1 >= MAX_ATTEMPTS) throw conflict(kindLabel(r), name);
        continue;
      }
      const extras = kind !== 'main' ? NO_EXTRAS : ((await this.strategy(r).updateExtras?.(next, old, this.ctx, attempt)) ?? NO_EXTRAS);
      const res = await this.putTxn(r, [{ key, target: 'Mod', value: cur.rv }, ...extras.compares], { put: key, value: encode(next) }, extras.ops);
      if (res.ok) {
        next.metadata.resourceVersion = String(res.revision);
        return next;
      }
      const now = res.current.get(key);
      state.readBack(now);
      if (!now) throw notFound(kindLabel(r), name);
      if (now.rv !== cur.rv) {
        if (state.guessed) continue;
        if (wantRv !== undefined) throw conflict(kindLabel(r), name);
        if (attempt + 1 >= MAX_ATTEMPTS) throw conflict(kindLabel(r), name);
        continue;
      }
      this.extrasFailed(r, next, extras, res.current, attempt);
    }
  }

  /** Where a write's loop reads the object it changes: the watch cache's copy first, then read-backs and storage. */
  private currentState(r: ResourceInfo, key: string): CurrentState {
    return new CurrentState(this.deps.storage, key, this.deps.caches.peek(this.deps.storage.prefixFor(r.resource)));
  }

  /** The object to store for an update: server-owned metadata kept, status or spec kept by kind. */
  private nextObject(r: ResourceInfo, old: KubeObject, body: KubeObject, kind: UpdateKind): KubeObject {
    let next: KubeObject;
    if (kind === 'internal') {
      next = body;
    } else if (kind === 'status') {
      next = structuredClone(old);
      if (body.status !== undefined) next.status = body.status;
      else delete next.status;
    } else {
      const meta = isObject(body.metadata) ? { ...body.metadata } : {};
      next = { ...body, apiVersion: apiVersionOf(r), kind: r.kind, metadata: meta };
      next.metadata.name = old.metadata.name!;
      if (r.namespaced) next.metadata.namespace = old.metadata.namespace!;
      else delete next.metadata.namespace;
      carryServerMeta(old.metadata, next.metadata);
      if (old.metadata.generateName !== undefined) next.metadata.generateName = old.metadata.generateName;
      else delete next.metadata.generateName;
      // The main resource never writes status when a status subresource exists.
      if (r.subresources.includes('status')) {
        if (old.status !== undefined) next.status = old.status;
        else delete next.status;
      }
      next = this.deps.defaults(r, next);
      this.strategy(r).prepareForUpdate?.(next, old);
    }
    delete next.metadata.resourceVersion;
    next.metadata.generation = (old.metadata.generation ?? 1) + (kind === 'main' && specChanged(old, next) ? 1 : 0);
    this.check(r, next, old, kind === 'status');
    return next;
  }

  // ------------------------------------------------------------- delete

  /**
   * Deletes one object, or marks it as being deleted (deletionTimestamp)
   * while something must happen first: a graceful pod's kubelet, a
   * namespace's controller, or finalizers — including the collector's, which
   * the propagation policy sets (`orphan` for Orphan, `foregroundDeletion`
   * for Foreground; Background sets none and the collector deletes the
   * dependents once the owner is gone). The update that removes the last
   * finalizer removes the object (mutate).
   */
  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    checkDeleteOptions(r, name, opts);
    const s = this.strategy(r);
    if (this.deps.admit && requestUser()) await this.admit({ operation: 'DELETE', resource: r, subresource: '', namespace: namespace ?? '', name, oldObject: await this.get(r, namespace, name) });
    if (s.beforeDelete) await s.beforeDelete(await this.get(r, namespace, name), opts, this.ctx);
    return this.deleteObject(r, namespace, name, opts);
  }

  /** Deletes every selected object; one that cannot be deleted (gone meanwhile, refused) is skipped. */
  async deleteCollection(r: ResourceInfo, namespace: string | undefined, listOpts: ListOptions, opts: DeleteOptions = {}): Promise<List> {
    const list = await this.list(r, namespace, listOpts);
    const items: KubeObject[] = [];
    for (const obj of list.items) {
      try {
        items.push(await this.delete(r, obj.metadata.namespace, obj.metadata.name!, opts));
      } catch (err) {
        this.deps.log.debug({ resource: r.resource, name: obj.metadata.name, err: String(err) }, 'deletecollection: item skipped');
      }
    }
    return { ...list, items };
  }

  private async deleteObject(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject> {
    const key = this.storageKey(r, namespace, name);
    const state = this.currentState(r, key);
    for (;;) {
      const cur = await state.read();
      const attempt = state.attempt;
      if (!cur) throw notFound(kindLabel(r), name);
      const pre = opts.preconditions;
      const failed = preconditionFailure(pre, cur);
      if (failed && state.guessed) continue;
      if (failed) throw conflict(kindLabel(r), name, failed);
      const old = withType(r, cur.obj);
      const s = this.strategy(r);
      const plan = (await s.planDelete?.(old, opts, this.ctx)) ?? { kind: 'now' as const };
      const finalizers = deletionFinalizers(old.metadata.finalizers ?? [], opts, s.defaultGarbageCollectionPolicy ?? 'DeleteDependents');
      if (plan.kind === 'now' && finalizers.length === 0) {
        const gone = await this.removeObject(r, key, old, cur.rv);
        if (gone) return gone;
      } else {
        const marked = plan.kind === 'mark' ? plan.obj : structuredClone(old);
        if (finalizers.length) marked.metadata.finalizers = finalizers;
        else delete marked.metadata.finalizers;
        marked.metadata.deletionTimestamp ??= formatTime();
        // Held only by finalizers: removed by the update that takes the last one (ShouldDeleteDuringUpdate).
        if (plan.kind === 'now') marked.metadata.deletionGracePeriodSeconds = 0;
        delete marked.metadata.resourceVersion;
        const unchanged = stableStringify({ ...marked, metadata: { ...marked.metadata, resourceVersion: undefined } }) === stableStringify({ ...old, metadata: { ...old.metadata, resourceVersion: undefined } });
        if (unchanged) {
          if (state.guessed) continue;
          marked.metadata.resourceVersion = String(cur.rv);
          return marked;
        }
        const res = await this.putTxn(r, [{ key, target: 'Mod', value: cur.rv }], { put: key, value: encode(marked) }, []);
        if (res.ok) {
          marked.metadata.resourceVersion = String(res.revision);
          return marked;
        }
      }
      if (state.guessed) continue;
      if (pre?.resourceVersion || attempt + 1 >= MAX_ATTEMPTS) throw conflict(kindLabel(r), name);
    }
  }

  /** Whether this update of an object being deleted removes it: no finalizers left, no grace period running. */
  private finishesDeletion(r: ResourceInfo, old: KubeObject, next: KubeObject): boolean {
    if (!old.metadata.deletionTimestamp) return false;
    if ((next.metadata.finalizers ?? []).length > 0) return false;
    const grace = old.metadata.deletionGracePeriodSeconds;
    if (grace !== undefined && grace !== 0) return false;
    return this.strategy(r).canFinishDeletion?.(next) ?? true;
  }

  /** Removes the stored object at revision `rv` with its strategy's extras; undefined when it changed meanwhile. */
  private async removeObject(r: ResourceInfo, key: string, old: KubeObject, rv: number): Promise<KubeObject | undefined> {
    const extras = (await this.strategy(r).deleteExtras?.(old, this.ctx)) ?? NO_EXTRAS;
    const res = await this.deps.storage.txn([{ key, target: 'Mod', value: rv }, ...extras.compares], [{ del: key }, ...extras.ops]);
    if (!res.ok) return undefined;
    old.metadata.resourceVersion = String(res.revision);
    return old;
  }
}

const PROPAGATION_POLICIES = ['Foreground', 'Background', 'Orphan'];

/** kube-apiserver's ValidateDeleteOptions: a known propagationPolicy, not together with orphanDependents. */
function checkDeleteOptions(r: ResourceInfo, name: string, opts: DeleteOptions): void {
  const problems: FieldProblem[] = [];
  const policy = opts.propagationPolicy;
  if (policy !== undefined && policy !== null && !PROPAGATION_POLICIES.includes(policy))
    problems.push({ type: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"` });
  if (opts.orphanDependents !== undefined && policy !== undefined && policy !== null)
    problems.push({ type: 'FieldValueInvalid', field: 'orphanDependents', message: `Invalid value: ${JSON.stringify(opts.orphanDependents)}: orphanDependents and deletionPropagation cannot be both set` });
  if (problems.length) throw invalid(r.kind, name, problems);
}

/** 403 for a create in a namespace being deleted, with the cause controllers look for (isNamespaceTerminating). */
function namespaceTerminating(r: ResourceInfo, name: string, namespace: string): StatusError {
  return forbidden(`${kindLabel(r)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
    name,
    kind: kindLabel(r),
    causes: [{ type: 'NamespaceTerminating', reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
  });
}

function failedCompare(c: TxnCompare, current: Map<string, unknown>): boolean {
  const s = current.get(c.key) as { rv: number } | undefined;
  if (c.target === 'Version') {
    if (c.result === 'Greater') return s === undefined;
    return c.value === 0 ? s !== undefined : s === undefined;
  }
  return (s?.rv ?? 0) !== c.value;
}

/** A listed item as an object (read now, unless a selector already did). */
export function itemObject(r: ResourceInfo, item: ListedItem): KubeObject {
  return withType(r, item.obj ?? decode(item).obj);
}

/** Objects read back always carry their kind and apiVersion. */
export function withType(r: ResourceInfo, obj: KubeObject): KubeObject {
  obj.apiVersion = apiVersionOf(r);
  obj.kind = r.kind;
  return obj;
}

/** Why a delete's preconditions do not hold for the stored object, or undefined when they do. */
function preconditionFailure(pre: DeleteOptions['preconditions'], cur: Stored): string | undefined {
  if (pre?.uid && pre.uid !== cur.obj.metadata.uid) return `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`;
  if (pre?.resourceVersion && Number(pre.resourceVersion) !== cur.rv)
    return `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rv}`;
  return undefined;
}

/**
 * The object a write's loop reads and changes (kube-apiserver's
 * GuaranteedUpdate with cachedExistingObject): first the watch cache's
 * newest copy, which saves a storage read but may be behind; then what a
 * failed transaction read back; otherwise a storage read. The transaction
 * compares the revision it was read at, so a stale guess costs one failed
 * transaction, never a wrong write; whatever was refused on a guess is
 * judged again on a read (`guessed`), and only the first read guesses.
 */
class CurrentState {
  private mayGuess = true;
  private back: { value: Stored | undefined } | undefined;
  /** The last read came from the watch cache. */
  guessed = false;
  private reads = 0;

  constructor(
    private readonly storage: Storage,
    private readonly key: string,
    private readonly cache: WatchCache | undefined,
  ) {}

  /**
   * Which attempt the last read starts (0, 1, …), counting reads of the
   * store only: what was refused on a guess is tried again as the same attempt.
   */
  get attempt(): number {
    return Math.max(0, this.reads - 1);
  }

  async read(): Promise<Stored | undefined> {
    this.guessed = false;
    if (this.back) {
      const { value } = this.back;
      this.back = undefined;
      this.reads++;
      return value;
    }
    if (this.mayGuess) {
      this.mayGuess = false;
      const guess = this.cache?.current(this.key);
      if (guess) {
        this.guessed = true;
        return guess;
      }
    }
    this.reads++;
    return this.storage.get(this.key);
  }

  /** A failed transaction's read-back of the key: the next read. */
  readBack(value: Stored | undefined): void {
    this.back = { value };
  }
}
