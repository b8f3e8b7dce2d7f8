/**
 * THE event recorder of every component above the API (client-go's
 * tools/record: EventBroadcaster + EventRecorder + EventCorrelator): the
 * controller-manager's controllers, the scheduler and the kubelet record
 * `kubectl describe`'s story through it.
 *
 *   recorder.event(rc, 'Normal', 'SuccessfulCreate', `Created pod: ${pod}`)
 *     → correlate (pure, synchronous):
 *         spam filter   a token bucket per (source, object): 25 at once, then one per 5 min;
 *         aggregator    10 events alike but for the message within 10 min become one
 *                       "(combined from similar events): <message>" event;
 *         deduplication the same event again is a PATCH of count + lastTimestamp
 *                       of the Event already written, never a new object;
 *     → queued (bounded, 1000): `event()` never waits for the API and never throws;
 *     → one writer sends them in order; a failed write is retried a few times with
 *       back-off, then dropped with a log line. A full queue drops the event.
 *
 * Event names are client-go's `<object name>.<unix nanoseconds in hex>`, the
 * source is `{component, host}` and `reportingComponent`/`reportingInstance`
 * follow it, so events read like kube-controller-manager's and the scheduler's.
 */
import { createLogger, sleep, type Logger } from '@pilot/common';
import type { ApiClient } from './client.js';
import { isNotFound } from './errors.js';
import { formatTime, type Event, type EventSource, type KubeObject, type ObjectReference } from './types.js';

export type EventType = 'Normal' | 'Warning';

/** The calls the recorder writes with (ApiClient fits; tests fake it). */
export type EventSink = Pick<ApiClient, 'create' | 'patch'>;

/** What an event is about: a stored object, or a reference to one. */
export type EventSubject = KubeObject | ObjectReference;

export interface EventRecorder {
  /** Records an event; never blocks the caller on the API and never throws. */
  event(subject: EventSubject, type: EventType, reason: string, message: string): void;
  /** Like `event`, with the message as a template of `%s`/`%d`/`%v` placeholders (Go's Eventf). */
  eventf(subject: EventSubject, type: EventType, reason: string, format: string, ...args: unknown[]): void;
}

/** The object reference of an event's involvedObject (client-go's ref.GetReference). */
export function referenceTo(subject: EventSubject): ObjectReference {
  if (!('metadata' in subject)) return { ...subject };
  const o = subject as KubeObject;
  const ref: ObjectReference = { name: o.metadata.name ?? '' };
  if (o.kind) ref.kind = o.kind;
  if (o.apiVersion) ref.apiVersion = o.apiVersion;
  if (o.metadata.namespace) ref.namespace = o.metadata.namespace;
  if (o.metadata.uid) ref.uid = o.metadata.uid;
  if (o.metadata.resourceVersion) ref.resourceVersion = o.metadata.resourceVersion;
  return ref;
}

/** Go's Sprintf for the verbs events use (%s %v %d %q %%). */
export function sprintf(format: string, ...args: unknown[]): string {
  let i = 0;
  return format.replace(/%[svdq%]/g, (verb) => {
    if (verb === '%%') return '%';
    const a = args[i++];
    if (verb === '%q') return JSON.stringify(String(a));
    return a instanceof Error ? a.message : String(a);
  });
}

// ---------------------------------------------------------------- correlator (pure)

export interface CorrelatorOptions {
  /** Spam filter: events at once per (source, object) (client-go 25). */
  spamBurst?: number;
  /** Spam filter: refill, one token per this many ms (client-go 1/300 s). */
  spamRefillMs?: number;
  /** Aggregation: similar events within this window are combined (client-go 10 min). */
  aggregateWindowMs?: number;
  /** Aggregation: the number of similar events after which they are combined (client-go 10). */
  aggregateMax?: number;
  /** Entries kept in each cache (client-go 4096). */
  cacheSize?: number;
}

/** What the writer does with a correlated event. */
export type Correlated =
  | { action: 'create'; event: Event }
  | { action: 'patch'; event: Event; patch: { count: number; lastTimestamp: string; message: string } }
  | { action: 'skip'; why: 'spam' };

interface Bucket {
  tokens: number;
  at: number;
}

interface Aggregate {
  messages: Set<string>;
  first: number;
}

interface Seen {
  name: string;
  count: number;
  firstTimestamp: string;
}

/** A small LRU: a Map in insertion order, the oldest evicted. */
class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
  }
}

const refKey = (r: ObjectReference): string => [r.kind, r.namespace, r.name, r.uid, r.apiVersion].join('\x00');

/**
 * client-go's EventCorrelator: decides for each new event whether it is
 * written as a new Event, folded into one already written (PATCH of count
 * and lastTimestamp), or dropped as spam. Pure but for its caches; the
 * clock comes with each call.
 */
export class EventCorrelator {
  private readonly buckets: Lru<Bucket>;
  private readonly aggregates: Lru<Aggregate>;
  private readonly seen: Lru<Seen>;
  private readonly o: Required<CorrelatorOptions>;

  constructor(opts: CorrelatorOptions = {}) {
    this.o = { spamBurst: 25, spamRefillMs: 300_000, aggregateWindowMs: 600_000, aggregateMax: 10, cacheSize: 4096, ...opts };
    this.buckets = new Lru(this.o.cacheSize);
    this.aggregates = new Lru(this.o.cacheSize);
    this.seen = new Lru(this.o.cacheSize);
  }

  correlate(ev: Event, now: number): Correlated {
    const src = `${ev.source?.component ?? ''}\x00${ev.source?.host ?? ''}`;
    const obj = refKey(ev.involvedObject);

    // Spam filter (client-go's EventSourceObjectSpamFilter).
    const bkey = `${src}\x00${obj}`;
    const b = this.buckets.get(bkey) ?? { tokens: this.o.spamBurst, at: now };
    b.tokens = Math.min(this.o.spamBurst, b.tokens + (now - b.at) / this.o.spamRefillMs);
    b.at = now;
    this.buckets.set(bkey, b);
    if (b.tokens < 1) return { action: 'skip', why: 'spam' };
    b.tokens -= 1;

    // Aggregation (EventAggregator): alike but for the message.
    const akey = `${src}\x00${obj}\x00${ev.type}\x00${ev.reason}`;
    let agg = this.aggregates.get(akey);
    if (!agg || now - agg.first > this.o.aggregateWindowMs) agg = { messages: new Set(), first: now };
    agg.messages.add(ev.message ?? '');
    this.aggregates.set(akey, agg);
    let out = ev;
    // Once combined, every later similar event counts on the one aggregate (keyed without its message).
    let dkey = `${akey}\x00\x01${ev.message ?? ''}`;
    if (agg.messages.size >= this.o.aggregateMax) {
      out = { ...ev, message: `(combined from similar events): ${ev.message ?? ''}` };
      dkey = akey;
    }

    // Deduplication (eventLogger): the same event again is a count on the one written.
    const prev = this.seen.get(dkey);
    if (prev) {
      const count = prev.count + 1;
      this.seen.set(dkey, { ...prev, count });
      const event: Event = { ...out, metadata: { ...out.metadata, name: prev.name }, count, firstTimestamp: prev.firstTimestamp };
      return { action: 'patch', event, patch: { count, lastTimestamp: out.lastTimestamp!, message: out.message ?? '' } };
    }
    this.seen.set(dkey, { name: out.metadata.name!, count: out.count ?? 1, firstTimestamp: out.firstTimestamp! });
    return { action: 'create', event: out };
  }
}

/** A core/v1 Event as client-go's recorder makes it (pure; clock as a parameter). */
export function makeEvent(ref: ObjectReference, source: EventSource, type: EventType, reason: string, message: string, nowMs: number, seq = 0): Event {
  const ts = formatTime(new Date(nowMs));
  // Unix nanoseconds in hex as client-go; `seq` keeps names unique within one millisecond.
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(seq % 1_000_000);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${ref.name ?? ''}.${nanos.toString(16)}`, namespace: ref.namespace || 'default' },
    involvedObject: ref,
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: ts,
    lastTimestamp: ts,
    eventTime: null,
    source: { ...source },
    reportingComponent: source.component ?? '',
    reportingInstance: source.host ?? '',
  };
}

// ---------------------------------------------------------------- broadcaster

export interface EventBroadcasterOptions extends CorrelatorOptions {
  logger?: Logger;
  /** Events waiting to be written; more are dropped (client-go 1000). */
  queueLength?: number;
  /** Tries per event before it is dropped (client-go 12). */
  maxTries?: number;
  /** First retry delay; doubles per try (client-go waits 10 s, jittered). */
  retryBaseMs?: number;
  now?: () => number;
}

interface Pending {
  c: Exclude<Correlated, { action: 'skip' }>;
  tries: number;
}

/**
 * Owns the queue and the writer for every recorder of one process (one per
 * source component): `newRecorder({component, host})` hands out recorders;
 * `shutdown()` writes what is queued (bounded by a deadline) and stops.
 */
export class EventBroadcaster {
  private readonly log: Logger;
  private readonly correlator: EventCorrelator;
  private readonly queue: Pending[] = [];
  private readonly maxQueue: number;
  private readonly maxTries: number;
  private readonly retryBaseMs: number;
  private readonly now: () => number;
  private writing: Promise<void> | undefined;
  private stopped = false;
  private seq = 0;
  private dropped = 0;
  private readonly idle: (() => void)[] = [];
  /** Written, patched and dropped counts, for metrics and tests. */
  readonly counts = { created: 0, patched: 0, dropped: 0, spam: 0 };

  constructor(
    private readonly sink: EventSink,
    opts: EventBroadcasterOptions = {},
  ) {
    this.log = opts.logger ?? createLogger('events');
    this.correlator = new EventCorrelator(opts);
    this.maxQueue = opts.queueLength ?? 1000;
    this.maxTries = opts.maxTries ?? 5;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.now = opts.now ?? Date.now;
  }

  newRecorder(source: EventSource): EventRecorder {
    const record = (subject: EventSubject, type: EventType, reason: string, message: string): void => {
      try {
        this.record(referenceTo(subject), source, type, reason, message);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, reason }, 'cannot record event');
      }
    };
    return {
      event: record,
      eventf: (subject, type, reason, format, ...args) => record(subject, type, reason, sprintf(format, ...args)),
    };
  }

  /** Resolves once everything queued so far has been written or dropped (tests, shutdown). */
  flush(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops accepting events; writes the queue for at most `timeoutMs`. */
  async shutdown(timeoutMs = 2_000): Promise<void> {
    this.stopped = true;
    await Promise.race([this.flush(), sleep(timeoutMs)]);
    this.queue.length = 0;
  }

  private record(ref: ObjectReference, source: EventSource, type: EventType, reason: string, message: string): void {
    if (this.stopped) return;
    const now = this.now();
    const c = this.correlator.correlate(makeEvent(ref, source, type, reason, message, now, this.seq++), now);
    if (c.action === 'skip') {
      this.counts.spam++;
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.counts.dropped++;
      // One line per burst of drops, not one per event.
      if (this.dropped++ % 100 === 0) this.log.warn({ queued: this.queue.length, reason }, 'event queue full; dropping events');
      return;
    }
    this.queue.push({ c, tries: 0 });
    this.writing ??= this.writeAll().finally(() => {
      this.writing = undefined;
      for (const w of this.idle.splice(0)) w();
    });
  }

  private async writeAll(): Promise<void> {
    for (let p = this.queue.shift(); p; p = this.queue.shift()) {
      for (;;) {
        try {
          await this.write(p.c);
          break;
        } catch (err) {
          p.tries++;
          const ev = p.c.event;
          if (p.tries >= this.maxTries || this.stopped) {
            this.counts.dropped++;
            this.log.warn({ err: (err as Error).message, reason: ev.reason, object: `${ev.involvedObject.kind}/${ev.involvedObject.namespace ?? ''}/${ev.involvedObject.name}` }, 'event dropped after retries');
            break;
          }
          await sleep(this.retryBaseMs * 2 ** (p.tries - 1));
        }
      }
    }
  }

  private async write(c: Exclude<Correlated, { action: 'skip' }>): Promise<void> {
    const ns = c.event.metadata.namespace!;
    if (c.action === 'create') {
      await this.sink.create('events', c.event, { namespace: ns });
      this.counts.created++;
      return;
    }
    try {
      await this.sink.patch('events', c.event.metadata.name!, c.patch, 'merge', { namespace: ns });
      this.counts.patched++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // The first one expired (--event-ttl): write it again as the count so far.
      await this.sink.create('events', c.event, { namespace: ns });
      this.counts.created++;
    }
  }
}
