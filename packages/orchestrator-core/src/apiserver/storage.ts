import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import type { KubeObject } from '@pilot/api';
import { expired } from './status.js';

/**
 * The apiserver's view of etcd: JSON objects under `<prefix>/<resource>/<ns>/<name>`
 * (cluster-scoped: `<prefix>/<resource>/<name>`), resourceVersion = the key's
 * mod_revision, every write one transaction guarded by a compare so a stale
 * update or a duplicate create never lands half-way.
 */

export interface Stored {
  key: string;
  obj: KubeObject;
  /** mod_revision of the key = the object's resourceVersion. */
  rv: number;
}

/** A put with `lease` is bound to that etcd lease (the key goes when the lease expires). */
export type TxnOp = { put: string; value: string; lease?: string } | { del: string };

/** A guard: the key's mod revision (Mod) or version (Version, 0 = absent) equals (or exceeds) `value`. */
export interface TxnCompare {
  key: string;
  target: 'Mod' | 'Version';
  value: number;
  /** Default Equal; Greater with Version 0 means "the key exists". */
  result?: 'Equal' | 'Greater';
}

export type TxnResult = { ok: true; revision: number } | { ok: false; revision: number; current: Map<string, Stored | undefined> };

export interface ListPage {
  items: Stored[];
  /** The revision the list was read at (the list's resourceVersion). */
  revision: number;
  /** First key not returned yet, when the range was cut by the limit. */
  nextKey?: string;
}

export interface ListRange {
  limit?: number;
  fromKey?: string;
  revision?: number;
}

/** A list page as etcd returned it: key-values not decoded yet. */
export interface RawPage {
  items: IKeyValue[];
  revision: number;
  nextKey?: string;
}

/**
 * Keys per etcd range read when a whole collection is listed: kube-apiserver's
 * maxLimit, so 10k objects are one round trip. A chunk too big for one gRPC
 * message (huge objects) is read again in halves.
 */
const LIST_CHUNK = 10_000;

export type EtcdObserver = (operation: string, seconds: number) => void;

export class Storage {
  constructor(
    readonly client: Etcd3,
    readonly prefix: string,
    private readonly observe: EtcdObserver = () => undefined,
  ) {}

  /** Prefix holding every object of a resource (or of one namespace), trailing slash included. */
  prefixFor(resource: string, namespace?: string): string {
    return namespace ? `${this.prefix}/${resource}/${namespace}/` : `${this.prefix}/${resource}/`;
  }

  keyFor(resource: string, namespace: string | undefined, name: string): string {
    return `${this.prefixFor(resource, namespace)}${name}`;
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.observe(op, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  async get(key: string): Promise<Stored | undefined> {
    const res = await this.timed('get', () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? decode(kv) : undefined;
  }

  /**
   * Reads keys under `prefix` in key order, starting at `fromKey` (a continue
   * token's key), at `revision` (0 = now). A compacted revision is 410 Expired.
   * Without a limit the range is read in chunks at one revision, so a big
   * collection stays one consistent snapshot without one giant gRPC message.
   */
  async list(prefix: string, opts: ListRange & { keysOnly?: boolean } = {}): Promise<ListPage> {
    const page = await this.listRaw(prefix, opts);
    const items = opts.keysOnly ? page.items.map((kv) => ({ key: kv.key.toString(), obj: { metadata: {} }, rv: Number(kv.mod_revision) })) : page.items.map(decode);
    return page.nextKey ? { items, revision: page.revision, nextKey: page.nextKey } : { items, revision: page.revision };
  }

  /** Like list, but the stored key-values as etcd returned them (lists encode them without parsing). */
  async listRaw(prefix: string, opts: ListRange & { keysOnly?: boolean } = {}): Promise<RawPage> {
    if (opts.limit) return this.range(prefix, { ...opts, limit: opts.limit });
    const out: IKeyValue[] = [];
    let chunk = LIST_CHUNK;
    let from = opts.fromKey;
    let revision = opts.revision ?? 0;
    for (;;) {
      let page: RawPage;
      try {
        page = await this.range(prefix, { ...opts, limit: chunk, revision, ...(from !== undefined ? { fromKey: from } : {}) });
      } catch (err) {
        if (chunk > 1 && isTooLarge(err)) {
          chunk = Math.ceil(chunk / 2);
          continue;
        }
        throw err;
      }
      for (const kv of page.items) out.push(kv);
      // Every further chunk at the first one's revision: one consistent snapshot.
      revision = page.revision;
      if (!page.nextKey) return { items: out, revision };
      from = page.nextKey;
    }
  }

  private async range(prefix: string, opts: { limit: number; fromKey?: string; revision?: number; keysOnly?: boolean }): Promise<RawPage> {
    const start = Buffer.from(opts.fromKey ?? prefix);
    try {
      const res = await this.timed('list', () =>
        this.client.kv.range({
          key: start,
          range_end: prefixEnd(prefix),
          limit: opts.limit,
          revision: opts.revision ?? 0,
          keys_only: opts.keysOnly ?? false,
        }),
      );
      const items = res.kvs;
      const page: RawPage = { items, revision: Number(res.header.revision) };
      if (res.more && items.length > 0) page.nextKey = `${items[items.length - 1]!.key.toString()}\x00`;
      return page;
    } catch (err) {
      if (isCompacted(err)) throw expired(`The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.`);
      throw err;
    }
  }

  /** The current etcd revision (a cheap read of one key). */
  async revision(): Promise<number> {
    const res = await this.timed('get', () => this.client.kv.range({ key: Buffer.from(`${this.prefix}/`), limit: 1, keys_only: true }));
    return Number(res.header.revision);
  }

  /**
   * One etcd transaction: if every compare holds, apply ops; otherwise read
   * the compared keys so the caller can tell AlreadyExists from Conflict.
   */
  async txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    const request = {
      compare: compares.map((c) => ({
        key: Buffer.from(c.key),
        target: c.target,
        result: c.result ?? ('Equal' as const),
        ...(c.target === 'Mod' ? { mod_revision: c.value } : { version: c.value }),
      })),
      success: ops.map(toRequestOp),
      failure: compares.map((c) => ({ request_range: { key: Buffer.from(c.key) } })),
    };
    const res: ITxnResponse = await this.timed('txn', () => this.client.kv.txn(request));
    const revision = Number(res.header.revision);
    if (res.succeeded) return { ok: true, revision };
    const current = new Map<string, Stored | undefined>();
    compares.forEach((c, i) => {
      const kv = res.responses[i]?.response_range?.kvs[0];
      current.set(c.key, kv ? decodeLoose(kv) : undefined);
    });
    return { ok: false, revision, current };
  }

  /** Grants an etcd lease of `seconds` (never kept alive: it is meant to expire); resolves to its ID. */
  async grantLease(seconds: number): Promise<string> {
    const res = await this.timed('lease_grant', () => this.client.leaseClient.leaseGrant({ TTL: seconds, ID: 0 }));
    return String(res.ID);
  }

  async compact(revision: number): Promise<void> {
    await this.timed('compact', () => this.client.kv.compact({ revision, physical: false }));
  }
}

function toRequestOp(op: TxnOp): IRequestOp {
  if ('put' in op) return { request_put: { key: Buffer.from(op.put), value: Buffer.from(op.value), ...(op.lease ? { lease: op.lease } : {}) } };
  return { request_delete_range: { key: Buffer.from(op.del) } };
}

/** The stored JSON never carries resourceVersion: it is the key's mod revision. */
export function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

export function decode(kv: IKeyValue): Stored {
  const rv = Number(kv.mod_revision);
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(rv) };
  return { key: kv.key.toString(), obj, rv };
}

/** Like decode, for keys that may hold something other than an object (allocation records). */
function decodeLoose(kv: IKeyValue): Stored {
  try {
    return decode(kv);
  } catch {
    return { key: kv.key.toString(), obj: { metadata: { resourceVersion: kv.mod_revision } }, rv: Number(kv.mod_revision) };
  }
}

/** The end of a prefix range: the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = b[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** etcd refused a put because its lease is gone (expired or revoked before the write). */
export function isLeaseNotFound(err: unknown): boolean {
  return err instanceof Error && /lease not found/i.test(err.message);
}

/** A response over the client's gRPC message limit. */
function isTooLarge(err: unknown): boolean {
  return err instanceof Error && /RESOURCE_EXHAUSTED|larger than max/i.test(err.message);
}

export function isCompacted(err: unknown): boolean {
  return err instanceof Error && /compacted/i.test(err.message);
}
