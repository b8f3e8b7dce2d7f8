import type { KubeObject } from '@pilot/api';
import type { ListPage, RawPage, Stored, StoredBytes } from './interface.js';

/** The stored JSON never carries resourceVersion: it is the key's mod revision. */
export function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

export function decode(kv: StoredBytes): Stored {
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(kv.rv) };
  return { key: kv.key.toString(), obj, rv: kv.rv };
}

/** Like decode, for keys that may hold something other than an object (allocation records). */
export function decodeLoose(kv: StoredBytes): Stored {
  try {
    return decode(kv);
  } catch {
    return { key: kv.key.toString(), obj: { metadata: { resourceVersion: String(kv.rv) } }, rv: kv.rv };
  }
}

/** A raw page decoded (keys only: empty objects with the keys' revisions). */
export function decodePage(page: RawPage, keysOnly = false): ListPage {
  const items = keysOnly ? page.items.map((kv) => ({ key: kv.key.toString(), obj: { metadata: {} }, rv: kv.rv })) : page.items.map(decode);
  return page.nextKey ? { items, revision: page.revision, nextKey: page.nextKey } : { items, revision: page.revision };
}
