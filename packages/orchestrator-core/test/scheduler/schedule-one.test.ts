import { ApiError, conflict, sprintf, type EventRecorder, type Pod } from '@pilot/api';
import { Cache } from '../../src/scheduler/cache.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { defaultProfile } from '../../src/scheduler/plugins/registry.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { Framework } from '../../src/scheduler/runtime.js';
import { numFeasibleNodesToFind, Scheduler, selectHost } from '../../src/scheduler/schedule-one.js';
import { podKey } from '../../src/scheduler/node-info.js';
import { node, pod, silentLog } from './fixtures.js';

interface Recorded {
  type: string;
  reason: string;
  message: string;
  pod: string;
}

function harness(opts: { failBind?: (pod: string) => unknown } = {}) {
  const events: Recorded[] = [];
  const name = (o: Parameters<EventRecorder['event']>[0]) => ('metadata' in o ? o.metadata.name! : o.name!);
  const recorder: EventRecorder = {
    event: (o, type, reason, message) => events.push({ type, reason, message, pod: name(o) }),
    eventf: (o, type, reason, format, ...args) => events.push({ type, reason, message: sprintf(format, ...args), pod: name(o) }),
  };
  const binds: [string, string][] = [];
  const statuses: { name: string; patch: unknown }[] = [];
  const pods = new Map<string, Pod>();
  const client = {
    bind: async (_ns: string, name: string, nodeName: string) => {
      const err = opts.failBind?.(name);
      if (err) throw err;
      binds.push([name, nodeName]);
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as never;
    },
    patchStatus: async (_r: string, name: string, patch: unknown) => {
      statuses.push({ name, patch });
      return {} as never;
    },
  };
  const cache = new Cache(silentLog);
  const queue = new SchedulingQueue({ log: silentLog });
  const listers = { services: () => [], replicationController: () => undefined };
  const sched = new Scheduler({ client, cache, queue, framework: new Framework('default-scheduler', defaultProfile(listers)), recorder, log: silentLog, currentPod: (k) => pods.get(k) });
  const add = (p: Pod) => {
    pods.set(podKey(p), p);
    queue.add(p);
  };
  /** Runs cycles until the queue has nothing active, then waits for binds. */
  const drain = async () => {
    for (;;) {
      if (queue.pendingPods().active === 0) break;
      const q = (await queue.pop())!;
      sched.scheduleOne(q);
    }
    await new Promise((r) => setTimeout(r, 10));
  };
  return { sched, cache, queue, events, binds, statuses, add, drain, close: () => queue.close() };
}

describe('scheduleOne', () => {
  it('spreads 6 pods without requests over 3 equal nodes 2/2/2 (assumed capacity counts at once)', async () => {
    const h = harness();
    for (const n of ['n1', 'n2', 'n3']) h.cache.addNode(node(n));
    for (let i = 0; i < 6; i++) h.add(pod(`web-${i}`));
    await h.drain();
    const per = new Map<string, number>();
    for (const [, n] of h.binds) per.set(n, (per.get(n) ?? 0) + 1);
    expect([...per.values()]).toEqual([2, 2, 2]);
    expect(h.events.filter((e) => e.reason === 'Scheduled').map((e) => e.message)).toContain(`Successfully assigned default/web-0 to ${h.binds[0]![1]}`);
    h.close();
  });

  it('a pod too big for every node fails with the upstream message, an event and PodScheduled=False/Unschedulable', async () => {
    const h = harness();
    for (const n of ['n1', 'n2']) h.cache.addNode(node(n, { cpu: '2' }));
    h.cache.addNode(node('n3', { cpu: '8', taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }));
    h.add(pod('big', { cpu: '4' }));
    await h.drain();
    const msg =
      '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.';
    expect(h.binds).toEqual([]);
    expect(h.events).toEqual([{ type: 'Warning', reason: 'FailedScheduling', message: msg, pod: 'big' }]);
    expect(h.statuses).toEqual([
      { name: 'big', patch: { status: { conditions: [expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg })] } } },
    ]);
    expect(h.queue.where(pod('big'))).toBe('unschedulable');
    h.close();
  });

  it('with no nodes: "no nodes available to schedule pods"', async () => {
    const h = harness();
    h.add(pod('p'));
    await h.drain();
    expect(h.events.map((e) => e.message)).toEqual(['no nodes available to schedule pods']);
    h.close();
  });

  it('a rejected bind forgets the assumed pod, requeues it with back-off and leaves PodScheduled alone on a conflict', async () => {
    const h = harness({ failBind: (name) => (name === 'p' ? new ApiError(conflict('pods', 'p', 'pod p is already assigned to node "n1"')) : undefined) });
    h.cache.addNode(node('n1', { cpu: '1' }));
    h.add(pod('p', { cpu: '1' }));
    await h.drain();
    expect(h.events).toEqual([
      {
        type: 'Warning',
        reason: 'FailedScheduling',
        pod: 'p',
        message: 'running Bind plugin "DefaultBinder": Operation cannot be fulfilled on pods "p": pod p is already assigned to node "n1"',
      },
    ]);
    expect(h.statuses).toEqual([]);
    expect(h.cache.stats().assumed).toBe(0);
    expect(h.queue.where(pod('p'))).toBe('backoff');
    // Its capacity is free again for the next pod.
    h.add(pod('q', { cpu: '1' }));
    await h.drain();
    expect(h.binds).toEqual([['q', 'n1']]);
    h.close();
  });

  it('with 5,000 nodes evaluates 500 per pod, starting where the last pod stopped', () => {
    const h = harness();
    for (let i = 0; i < 5000; i++) h.cache.addNode(node(`n${i}`));
    const r1 = h.sched.schedulePod(new CycleState(), pod('a'));
    expect(r1).toMatchObject({ evaluatedNodes: 500, feasibleNodes: 500 });
    h.close();
  });
});

describe('numFeasibleNodesToFind and selectHost', () => {
  it.each([
    [50, 50],
    [100, 100],
    [1000, 420],
    [5000, 500],
    [15000, 750],
  ])('%i nodes → %i', (all, want) => {
    expect(numFeasibleNodesToFind(all)).toBe(want);
  });
  it('picks the best, ties at random', () => {
    expect(selectHost([{ name: 'a', score: 1 }, { name: 'b', score: 3 }, { name: 'c', score: 2 }])).toBe('b');
    const seq = [0.9, 0.1];
    expect(selectHost([{ name: 'a', score: 3 }, { name: 'b', score: 3 }, { name: 'c', score: 3 }], () => seq.shift()!)).toBe('c');
  });
});
