import { ApiError } from '../src/errors.js';
import { EventBroadcaster, EventCorrelator, makeEvent, referenceTo, sprintf, type EventSink } from '../src/event-recorder.js';
import type { Event, KubeObject } from '../src/types.js';
import { statusFor } from '../src/errors.js';

const rc: KubeObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web', namespace: 'default', uid: 'u-1', resourceVersion: '7' } };
const src = { component: 'replication-controller', host: 'h1' };

/** An in-memory events collection behind the sink calls. */
function memorySink(opts: { failCreates?: number; hang?: boolean } = {}) {
  const events = new Map<string, Event>();
  const calls: string[] = [];
  let failures = opts.failCreates ?? 0;
  const sink: EventSink = {
    create: (async (_r: string, obj: KubeObject) => {
      calls.push(`create ${obj.metadata.name}`);
      if (opts.hang) await new Promise(() => undefined);
      if (failures > 0) {
        failures--;
        throw new ApiError(statusFor(503, 'ServiceUnavailable', 'etcd down'));
      }
      events.set(obj.metadata.name!, structuredClone(obj) as Event);
      return obj;
    }) as EventSink['create'],
    patch: (async (_r: string, name: string, patch: Partial<Event>) => {
      calls.push(`patch ${name}`);
      const cur = events.get(name);
      if (!cur) throw new ApiError(statusFor(404, 'NotFound', `events "${name}" not found`));
      Object.assign(cur, patch);
      return cur;
    }) as EventSink['patch'],
  };
  return { sink, events, calls };
}

describe('event recorder', () => {
  it('writes an Event with client-go naming, source, reference and timestamps', async () => {
    const { sink, events } = memorySink();
    const b = new EventBroadcaster(sink, { now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
    b.newRecorder(src).event(rc, 'Normal', 'SuccessfulCreate', 'Created pod: web-abcde');
    await b.flush();
    const [ev] = [...events.values()];
    expect(ev!.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    expect(ev).toMatchObject({
      metadata: { namespace: 'default' },
      involvedObject: { kind: 'ReplicationController', apiVersion: 'v1', namespace: 'default', name: 'web', uid: 'u-1' },
      type: 'Normal',
      reason: 'SuccessfulCreate',
      message: 'Created pod: web-abcde',
      count: 1,
      firstTimestamp: '2026-01-02T03:04:05Z',
      lastTimestamp: '2026-01-02T03:04:05Z',
      source: src,
      reportingComponent: 'replication-controller',
      reportingInstance: 'h1',
    });
  });

  it('folds an identical event into the one written: count and lastTimestamp, no new object', async () => {
    const { sink, events, calls } = memorySink();
    let now = Date.UTC(2026, 0, 1, 0, 0, 0);
    const b = new EventBroadcaster(sink, { now: () => now });
    const r = b.newRecorder(src);
    r.event(rc, 'Warning', 'FailedCreate', 'Error creating: quota');
    now += 3_000;
    r.event(rc, 'Warning', 'FailedCreate', 'Error creating: quota');
    now += 3_000;
    r.event(rc, 'Warning', 'FailedCreate', 'Error creating: quota');
    await b.flush();
    expect(events.size).toBe(1);
    const [ev] = [...events.values()];
    expect(ev).toMatchObject({ count: 3, firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:00:06Z' });
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['create', 'patch', 'patch']);
  });

  it('combines ten similar events within ten minutes into one aggregate event', () => {
    const c = new EventCorrelator();
    const now = 1_000_000;
    const actions = Array.from({ length: 12 }, (_, i) => c.correlate(makeEvent(referenceTo(rc), src, 'Normal', 'SuccessfulCreate', `Created pod: web-${i}`, now + i, i), now + i));
    expect(actions.slice(0, 9).every((a) => a.action === 'create')).toBe(true);
    expect(actions[9]).toMatchObject({ action: 'create', event: { message: '(combined from similar events): Created pod: web-9' } });
    // Later similar events count on the aggregate (its message follows the newest).
    expect(actions[10]).toMatchObject({ action: 'patch', patch: { count: 2, message: '(combined from similar events): Created pod: web-10' } });
    expect(actions[11]).toMatchObject({ action: 'patch', patch: { count: 3 } });
  });

  it('drops events past the spam filter burst of 25 per object and source, refilled over time', () => {
    const c = new EventCorrelator({ aggregateMax: 1000 });
    const at = (i: number, now: number) => c.correlate(makeEvent(referenceTo(rc), src, 'Normal', 'R', `m${i}`, now, i), now);
    const first = Array.from({ length: 26 }, (_, i) => at(i, 0).action);
    expect(first.filter((a) => a !== 'skip')).toHaveLength(25);
    expect(first[25]).toBe('skip');
    expect(at(100, 300_000).action).toBe('create');
    // Another object has its own bucket.
    const other = c.correlate(makeEvent({ kind: 'Pod', namespace: 'default', name: 'p' }, src, 'Normal', 'R', 'x', 0), 0);
    expect(other.action).toBe('create');
  });

  it('never blocks the caller and drops what does not fit in the queue', async () => {
    const { sink } = memorySink({ hang: true });
    const b = new EventBroadcaster(sink, { queueLength: 3, aggregateMax: 1000, spamBurst: 1000 });
    const r = b.newRecorder(src);
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) r.event(rc, 'Normal', 'R', `m${i}`);
    expect(Date.now() - t0).toBeLessThan(1000);
    // One in the writer (hanging), three queued, the rest dropped.
    expect(b.counts.dropped).toBe(6);
  });

  it('retries a failed write, and writes anew when the event it would count has expired', async () => {
    const { sink, events, calls } = memorySink({ failCreates: 2 });
    const b = new EventBroadcaster(sink, { retryBaseMs: 1 });
    const r = b.newRecorder(src);
    r.event(rc, 'Normal', 'R', 'again');
    await b.flush();
    expect(events.size).toBe(1);
    expect(calls.filter((c) => c.startsWith('create'))).toHaveLength(3);
    events.clear(); // expired by --event-ttl
    r.event(rc, 'Normal', 'R', 'again');
    await b.flush();
    expect([...events.values()][0]).toMatchObject({ count: 2, message: 'again' });
  });

  it('formats eventf messages as Go does', () => {
    expect(sprintf('Created pod: %v', 'web-x')).toBe('Created pod: web-x');
    expect(sprintf('Error creating: %v', new Error('boom'))).toBe('Error creating: boom');
    expect(sprintf('%d%% of %q', 5, 'a')).toBe('5% of "a"');
  });
});
