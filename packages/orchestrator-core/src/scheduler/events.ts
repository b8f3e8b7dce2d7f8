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
 * of adding another. Writes are best effort and never block scheduling.
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
  /** Writes of one event are chained so counts arrive in order. */
  chain: Promise<void>;
}

/** Correlation entries kept (client-go's LRU holds 4096). */
const MAX_SEEN = 4096;

export class ApiEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();

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
    const ts = formatTime(this.now());
    let s = this.seen.get(key);
    if (!s) {
      // client-go names an event <object>.<hex nanoseconds>; random hex keeps it unique across restarts too.
      s = { name: `${m.name}.${randomBytes(8).toString('hex')}`, namespace, count: 0, firstTimestamp: ts, chain: Promise.resolve() };
    }
    this.remember(key, s);
    s.count++;
    const entry = s;
    const count = s.count;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: entry.name, namespace },
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
      count,
      firstTimestamp: entry.firstTimestamp,
      lastTimestamp: ts,
      eventTime: null,
      action,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
    entry.chain = entry.chain.then(() => this.write(ev, count === 1));
  }

  private async write(ev: Event, first: boolean): Promise<void> {
    const ns = ev.metadata.namespace!;
    try {
      if (!first) {
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

  /** Resolves once every write queued so far has been tried (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.seen.values()].map((s) => s.chain));
  }
}
