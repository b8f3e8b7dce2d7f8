import type { ServerResponse } from 'node:http';
import type { KubeObject, ResourceInfo, WatchEvent } from '@pilot/api';
import { apiVersionOf, TableWatchConverter, type TableOptions } from '@pilot/api';
import type { GenericRegistry, Selection } from '../registry/generic-registry.js';
import type { StatusError } from '../status.js';

/**
 * One HTTP watch: newline-delimited WatchEvents on a chunked 200 response.
 * The registry says where it starts (the current objects first as synthetic
 * ADDED events when no resourceVersion was given) and delivers the changes;
 * this module encodes them, sends bookmarks and ends the stream on time. A
 * compacted start revision is an ERROR event with 410.
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
  deps: { registry: GenericRegistry; onOpen: (delta: number) => void; bookmarkIntervalMs?: number },
): Promise<void> {
  const { resource: r } = w;
  const { startRv, initial } = await deps.registry.watchStart(r, w.namespace, w.sel, w.resourceVersion);

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  deps.onOpen(1);

  let closed = false;
  let sub: { cancel(): void } | undefined;
  let lastRv = startRv;
  const timers: NodeJS.Timeout[] = [];
  // The events of one etcd watch response (and the initial list) arrive in
  // one tick: held back until its end, they leave in one chunk and one
  // writev instead of a syscall each.
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    res.uncork();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    sub?.cancel();
    for (const t of timers) clearTimeout(t);
    deps.onOpen(-1);
    uncork();
    res.end();
  };
  const write = (line: string) => {
    if (closed) return;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    res.write(line);
    if (res.writableLength > MAX_BACKLOG_BYTES) close();
  };
  res.on('close', close);

  const tables = w.table ? new TableWatchConverter(r, w.table) : undefined;
  // A Table stream is per watcher (headers only on its first event); plain events share one encoding.
  const emit = (type: WatchEvent['type'], object: KubeObject) =>
    write(tables ? `${JSON.stringify(tables.convert({ type, object }))}\n` : encodeEvent(type, object));
  for (const obj of initial) emit('ADDED', obj);

  sub = await deps.registry.subscribe(r, w.namespace, w.sel, startRv, {
    onEvent: (ev) => {
      const rv = Number(ev.object.metadata.resourceVersion);
      if (rv > lastRv) lastRv = rv;
      emit(ev.type, ev.object);
    },
    onError: (err: StatusError) => {
      write(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
      close();
    },
    onProgress: (rev: number) => {
      if (rev > lastRv) lastRv = rev;
    },
  });
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
      // The one before the deadline is the last: a timer may fire a millisecond
      // early, and scheduling again from there would send it twice.
      const last = at === deadline - BOOKMARK_BEFORE_DEADLINE_MS;
      timers[slot] = setTimeout(() => {
        emit('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(lastRv) } });
        if (!last) schedule();
      }, at - now).unref();
    };
    schedule();
  }
}
