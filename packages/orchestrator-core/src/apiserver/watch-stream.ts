import type { ServerResponse } from 'node:http';
import type { Etcd3 } from 'etcd3';
import type { KubeObject, ResourceInfo, WatchEvent } from '@pilot/api';
import { apiVersionOf, TableWatchConverter, type TableOptions } from '@pilot/api';
import type { Store, Selection } from './registry/store.js';
import { directWatch, filterEvent, type StoreEvent, type Subscription, type WatchCaches } from './watch.js';
import { withType } from './registry/store.js';
import { badRequest, type StatusError } from './status.js';

/**
 * One HTTP watch: newline-delimited WatchEvents on a chunked 200 response.
 * Without a resourceVersion (or "0") the current objects come first as
 * synthetic ADDED events (kubectl `get x -w` drops the first event and counts
 * on it); then changes from the cache (or an own etcd watch for old
 * revisions). A compacted start revision is an ERROR event with 410.
 */

export interface WatchRequest {
  resource: ResourceInfo;
  namespace?: string;
  sel: Selection;
  resourceVersion?: string;
  timeoutSeconds?: number;
  bookmarks: boolean;
  /** Send each event's object as a one-row Table (kubectl get -w). */
  table?: Pick<TableOptions, 'apiVersion' | 'includeObject'>;
}

/**
 * Every watcher of a resource gets the same store event objects: encode each
 * (object, type) once, not once per watcher.
 */
const encoded = new WeakMap<KubeObject, Map<string, string>>();
function encodeEvent(type: string, object: KubeObject): string {
  let byType = encoded.get(object);
  if (!byType) {
    byType = new Map();
    encoded.set(object, byType);
  }
  let line = byType.get(type);
  if (line === undefined) {
    line = `${JSON.stringify({ type, object })}\n`;
    byType.set(type, line);
  }
  return line;
}

/** Above this much unsent output a watcher is too slow and is cut off (it will relist). */
const MAX_BACKLOG_BYTES = 32 * 1024 * 1024;
/** kube-apiserver's cacher sends bookmarks about every minute (`bookmarkFrequency`)... */
export const BOOKMARK_INTERVAL_MS = 60_000;
/** ...and one this long before the watch's deadline, so the client resumes from there. */
const BOOKMARK_BEFORE_DEADLINE_MS = 2_000;

/**
 * When the next BOOKMARK is due (kube-apiserver's `nextBookmarkTime`): one
 * interval from now, or just before the deadline if that comes first;
 * undefined when even that has passed (the stream is about to end).
 */
export function nextBookmarkAt(now: number, intervalMs: number, deadline: number): number | undefined {
  const at = Math.min(now + intervalMs, deadline - BOOKMARK_BEFORE_DEADLINE_MS);
  return at > now ? at : undefined;
}

export async function serveWatch(
  res: ServerResponse,
  w: WatchRequest,
  deps: { store: Store; caches: WatchCaches; connect: () => Etcd3; onOpen: (delta: number) => void; bookmarkIntervalMs?: number },
): Promise<void> {
  const { resource: r } = w;
  const prefix = deps.store.storage.prefixFor(r.resource, r.namespaced ? w.namespace : undefined);
  const cache = await deps.caches.forPrefix(deps.store.storage.prefixFor(r.resource));

  let startRv: number;
  const initial: WatchEvent[] = [];
  if (w.resourceVersion === undefined || w.resourceVersion === '' || w.resourceVersion === '0') {
    const list = await deps.store.list(r, w.namespace, {
      labelSelector: w.sel.label.toString(),
      fieldSelector: w.sel.field.toString(),
    });
    startRv = Number(list.metadata.resourceVersion);
    for (const obj of list.items) initial.push({ type: 'ADDED', object: obj });
  } else {
    startRv = Number(w.resourceVersion);
    if (!Number.isInteger(startRv) || startRv < 0) throw badRequest(`invalid resourceVersion "${w.resourceVersion}"`);
  }

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  deps.onOpen(1);

  let closed = false;
  let sub: Subscription | undefined;
  let lastRv = startRv;
  const timers: NodeJS.Timeout[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    sub?.cancel();
    for (const t of timers) clearTimeout(t);
    deps.onOpen(-1);
    res.end();
  };
  const send = (ev: WatchEvent | { type: 'ERROR'; object: unknown }) => {
    if (closed) return;
    res.write(`${JSON.stringify(ev)}\n`);
    if (res.writableLength > MAX_BACKLOG_BYTES) close();
  };
  const sendEncoded = (line: string) => {
    if (closed) return;
    res.write(line);
    if (res.writableLength > MAX_BACKLOG_BYTES) close();
  };
  res.on('close', close);

  const tables = w.table ? new TableWatchConverter(r, w.table) : undefined;
  // A Table stream is per watcher (headers only on its first event); plain events share one encoding.
  const emit = (type: WatchEvent['type'], object: KubeObject) =>
    tables ? sendEncoded(`${JSON.stringify(tables.convert({ type, object }))}\n`) : sendEncoded(encodeEvent(type, object));
  for (const ev of initial) emit(ev.type, ev.object);

  const onEvent = (ev: StoreEvent) => {
    if (ev.rv <= startRv) return;
    if (!ev.key.startsWith(prefix)) return;
    lastRv = Math.max(lastRv, ev.rv);
    const out = filterEvent(ev, w.sel.matches);
    if (out) emit(out.type, withType(r, out.object));
  };
  const subscriber = {
    onEvent,
    onError: (err: StatusError) => {
      send({ type: 'ERROR', object: err.toStatus() });
      close();
    },
    onProgress: (rev: number) => {
      if (rev > lastRv) lastRv = rev;
    },
  };
  sub = cache.subscribe(startRv, subscriber) ?? (await directWatch(deps.connect, prefix, startRv, subscriber));
  if (closed) {
    sub.cancel();
    return;
  }

  // kube-apiserver ends watches after a randomised 30–60 min unless told otherwise.
  const timeoutMs = w.timeoutSeconds ? w.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
  const deadline = Date.now() + timeoutMs;
  timers.push(setTimeout(close, timeoutMs).unref());
  if (w.bookmarks) {
    // Only kind, apiVersion and the resourceVersion every event up to which has been sent.
    const interval = deps.bookmarkIntervalMs ?? BOOKMARK_INTERVAL_MS;
    const slot = timers.length;
    const schedule = () => {
      const now = Date.now();
      const at = nextBookmarkAt(now, interval, deadline);
      if (at === undefined || closed) return;
      timers[slot] = setTimeout(() => {
        emit('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(lastRv) } });
        schedule();
      }, at - now).unref();
    };
    schedule();
  }
}
