import { ApiError, notFound, type Event } from '@pilot/api';
import { ApiEventRecorder } from '../../src/scheduler/events.js';
import { pod, silentLog } from './fixtures.js';

function fakeClient() {
  const calls: { verb: string; name: string; body: unknown }[] = [];
  const stored = new Map<string, Event>();
  return {
    calls,
    stored,
    create: async (_r: string, ev: Event) => {
      calls.push({ verb: 'create', name: ev.metadata.name!, body: ev });
      stored.set(ev.metadata.name!, ev);
      return ev;
    },
    patch: async (_r: string, name: string, body: unknown) => {
      calls.push({ verb: 'patch', name, body });
      const cur = stored.get(name);
      if (!cur) throw new ApiError(notFound('events', name));
      Object.assign(cur, body);
      return cur;
    },
  };
}

describe('the scheduler\'s event recorder', () => {
  it('writes a core/v1 Event from the component, then counts repeats on the same Event', async () => {
    const client = fakeClient();
    const r = new ApiEventRecorder(client as never, 'default-scheduler', 'default-scheduler-x', silentLog);
    const p = pod('big');
    r.eventf(p, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    await r.flush();
    r.eventf(p, 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
    await r.flush();
    expect(client.calls.map((c) => c.verb)).toEqual(['create', 'patch']);
    const [ev] = [...client.stored.values()];
    expect(ev).toMatchObject({
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'big', uid: 'uid-big' },
      type: 'Warning',
      reason: 'FailedScheduling',
      count: 2,
      source: { component: 'default-scheduler' },
      reportingComponent: 'default-scheduler',
    });
  });

  it('repeats queued behind a write in flight are one more write; another message is another Event', async () => {
    const client = fakeClient();
    const r = new ApiEventRecorder(client as never, 'default-scheduler', 'i', silentLog);
    const p = pod('p');
    for (let i = 0; i < 5; i++) r.eventf(p, 'Warning', 'FailedScheduling', 'Scheduling', 'same');
    r.eventf(p, 'Normal', 'Scheduled', 'Binding', 'Successfully assigned default/p to n1');
    await r.flush();
    // The first create leaves at once; the four repeats wait behind it and go as one patch.
    expect(client.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
    expect([...client.stored.values()].map((e) => [e.reason, e.count])).toEqual([
      ['FailedScheduling', 5],
      ['Scheduled', 1],
    ]);
  });

  it('an Event that expired meanwhile is written anew', async () => {
    const client = fakeClient();
    const r = new ApiEventRecorder(client as never, 'default-scheduler', 'i', silentLog);
    r.eventf(pod('p'), 'Warning', 'FailedScheduling', 'Scheduling', 'm');
    await r.flush();
    client.stored.clear();
    r.eventf(pod('p'), 'Warning', 'FailedScheduling', 'Scheduling', 'm');
    await r.flush();
    expect(client.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
    expect([...client.stored.values()][0]!.count).toBe(2);
  });
});
