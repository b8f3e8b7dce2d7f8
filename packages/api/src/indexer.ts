/**
 * The informer's local cache (client-go's cache.Indexer): objects by key
 * (`namespace/name`, or `name` for cluster-scoped objects) plus named
 * secondary indexes, kept in step on every write so lookups by index never
 * scan.
 */
import type { KubeObject } from './types.js';

/** Cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function keyOf(obj: Pick<KubeObject, 'metadata'>): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Inverse of keyOf. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type IndexFunc<T> = (obj: T) => string[];

/** Index by namespace, the index most consumers want. */
export const NAMESPACE_INDEX = 'namespace';
export const namespaceIndexFunc: IndexFunc<KubeObject> = (obj) => [obj.metadata?.namespace ?? ''];

interface Index<T> {
  fn: IndexFunc<T>;
  byValue: Map<string, Set<string>>;
}

export class Indexer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** Looks an object up by namespace and name. */
  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  /** Adds a named index; existing objects are indexed at once. Re-adding a name is an error. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`index "${name}" already exists`);
    const idx: Index<T> = { fn, byValue: new Map() };
    this.indexes.set(name, idx);
    for (const [key, obj] of this.items) this.indexInto(idx, key, obj);
  }

  /** Objects whose index function returned `value`. */
  byIndex(name: string, value: string): T[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`no index named "${name}"`);
    const out: T[] = [];
    for (const key of idx.byValue.get(value) ?? []) {
      const obj = this.items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Values present in an index (e.g. every namespace holding objects). */
  indexValues(name: string): string[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`no index named "${name}"`);
    return [...idx.byValue.keys()];
  }

  /** Inserts or replaces; returns the previous object. */
  set(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const idx of this.indexes.values()) this.indexInto(idx, key, obj);
    return old;
  }

  /** Removes by key; returns the removed object. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private indexInto(idx: Index<T>, key: string, obj: T): void {
    for (const v of idx.fn(obj)) {
      let keys = idx.byValue.get(v);
      if (!keys) idx.byValue.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const idx of this.indexes.values()) {
      for (const v of idx.fn(obj)) {
        const keys = idx.byValue.get(v);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) idx.byValue.delete(v);
      }
    }
  }
}
