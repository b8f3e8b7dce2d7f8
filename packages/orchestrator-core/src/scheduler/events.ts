/**
 * How the scheduler tells its story: `Scheduled` and `FailedScheduling`
 * Events about pods, from `default-scheduler`.
 *
 * The scheduler only needs `eventf`; the shared recorder (client-go's
 * record.EventRecorder with its correlator, being written in packages/api
 * by the controllers track) will take this interface's place. Until it
 * lands, `ApiEventRecorder` is the smallest stand-in that keeps upstream's
 * visible behaviour: an identical event (same object, type, reason and
 * message) again bumps `count` and `lastTimestamp` of the one Event instead
 * of adding another. One writer sends them in order, at most 1,000 wait
 * (more are dropped, as client-go's broadcaster does), so events never slow
 * the binds down. Writes are best effort and never block scheduling.
 */
import { randomBytes } from 'node:crypto';
import { formatTime, isNotFound, type ApiClient, type Event, type KubeObject } from '@pilot/api';
import type { Logger } from '@pilot/common';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** `action` is events.k8s.io's (Scheduling, Binding); core/v1 Events carry it in `action`. */
  eventf(regarding: KubeObject, type: EventType, reason: string, action: string, message: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** Correlation entries kept (client-go's LRU holds 4096). */
const MAX_SEEN = 4096;
/** Events waiting to be written; beyond this they are dropped (client-go's maxQueuedEvents). */
const MAX_QUEUED = 1000;

export class ApiEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();
  /** Writes not yet sent, oldest first; a repeat of a queued event only updates it. */
  private readonly pending = new Map<string, { ev: Event; create: boolean }>();
  private writer: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    private readonly client: Pick<ApiClient, 'create' | 'patch'>,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  eventf(regarding: KubeObject, type: EventType, reason: string, action: string, message: string): void {
    const m = regarding.metadata;
    const namespace = m.namespace ?? 'default';
    const key = JSON.stringify([regarding.kind, namespace, m.name, m.uid, type, reason, message]);
    const queued = this.pending.get(key);
    if (!queued && this.pending.size >= MAX_QUEUED) {
      // As client-go's broadcaster: the object's state is what matters; a flood of stories is dropped.
      if (this.dropped++ % 1000 === 0) this.log.warn({ dropped: this.dropped }, 'events queue full, dropping events');
      return;
    }
    const ts = formatTime(this.now());
    let s = this.seen.get(key);
    if (!s) {
      // client-go names an event <object>.<hex nanoseconds>; random hex keeps it unique across restarts too.
      s = { name: `${m.name}.${randomBytes(8).toString('hex')}`, namespace, count: 0, firstTimestamp: ts };
    }
    this.remember(key, s);
    s.count++;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: s.name, namespace },
      involvedObject: {
        kind: regarding.kind ?? 'Pod',
        apiVersion: regarding.apiVersion ?? 'v1',
        namespace,
        name: m.name!,
        ...(m.uid ? { uid: m.uid } : {}),
        ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      },
      reason,
      message,
      type,
      count: s.count,
      firstTimestamp: s.firstTimestamp,
      lastTimestamp: ts,
      eventTime: null,
      action,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
    this.pending.set(key, { ev, create: queued ? queued.create : s.count === 1 });
    this.writer ??= this.drain();
  }

  /**
   * One writer, as client-go's sink: events never compete with the
   * scheduler's binds for more than one request at a time.
   */
  private async drain(): Promise<void> {
    try {
      for (let next = this.pending.entries().next(); !next.done; next = this.pending.entries().next()) {
        const [key, w] = next.value;
        this.pending.delete(key);
        await this.write(w.ev, w.create);
      }
    } finally {
      this.writer = undefined;
    }
  }

  private async write(ev: Event, create: boolean): Promise<void> {
    const ns = ev.metadata.namespace!;
    try {
      if (!create) {
        try {
          await this.client.patch('events', ev.metadata.name!, { count: ev.count, lastTimestamp: ev.lastTimestamp }, 'merge', { namespace: ns });
          return;
        } catch (err) {
          // Expired (event TTL) or deleted: write it anew.
          if (!isNotFound(err)) throw err;
        }
      }
      await this.client.create('events', ev, { namespace: ns });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, reason: ev.reason, object: `${ns}/${ev.involvedObject.name}` }, 'could not write event');
    }
  }

  /** Least recently used first: a Map keeps insertion order, so re-inserting marks use. */
  private remember(key: string, s: Seen): void {
    this.seen.delete(key);
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, s);
  }

  /** Resolves once every queued event has been tried, or after `timeoutMs` (shutdown must not hang on a slow apiserver). */
  async flush(timeoutMs = Infinity): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.writer && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.writer, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1)))))]);
      clearTimeout(timer);
    }
  }
}
