import { EVENTS, isPodUpdated, nodeUpdateEvent, SchedulingQueue } from '../../src/scheduler/queue.js';
import { node, pod, silentLog } from './fixtures.js';

function queue(clock: { t: number }) {
  return new SchedulingQueue({ log: silentLog, now: () => clock.t });
}

describe('SchedulingQueue', () => {
  it('pops by priority, then by when the pod was added', async () => {
    const clock = { t: 0 };
    const q = queue(clock);
    q.add(pod('a'));
    clock.t = 1;
    q.add(pod('b', { spec: { priority: 10 } }));
    clock.t = 2;
    q.add(pod('c'));
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await q.pop())!.pod.metadata.name);
    expect(order).toEqual(['b', 'a', 'c']);
    q.close();
  });

  it('backs off 1 s, doubling per attempt, capped at 10 s', () => {
    const q = queue({ t: 0 });
    expect([1, 2, 3, 4, 5, 6].map((a) => q.backoffDuration(a))).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    q.close();
  });

  it('an unschedulable pod waits until an event that can help its rejecting plugins', async () => {
    const clock = { t: 0 };
    const q = queue(clock);
    q.add(pod('p'));
    const qp = (await q.pop())!;
    qp.unschedulablePlugins = new Set(['NodeResourcesFit']);
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    expect(q.where(qp.pod)).toBe('unschedulable');
    // A taint change cannot help a pod rejected for resources.
    q.moveAllToActiveOrBackoffQueue(nodeUpdateEvent(node('n', { taints: [] }), node('n', { taints: [{ key: 'k', effect: 'NoSchedule' }] }))!);
    expect(q.where(qp.pod)).toBe('unschedulable');
    // A pod leaving a node can; still within its back-off it goes to backoffQ, then to activeQ.
    q.moveAllToActiveOrBackoffQueue(EVENTS.AssignedPodDelete);
    expect(q.where(qp.pod)).toBe('backoff');
    clock.t = 1000;
    q.flushBackoffQCompleted();
    expect(q.where(qp.pod)).toBe('active');
    q.close();
  });

  it('a node added helps every filter; past the back-off the pod goes straight to activeQ', async () => {
    const clock = { t: 0 };
    const q = queue(clock);
    q.add(pod('p'));
    const qp = (await q.pop())!;
    qp.unschedulablePlugins = new Set(['TaintToleration']);
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    clock.t = 5000;
    q.moveAllToActiveOrBackoffQueue(EVENTS.NodeAdd);
    expect(q.where(qp.pod)).toBe('active');
    q.close();
  });

  it('an event during the pod\'s own cycle sends it to backoffQ (moveRequestCycle)', async () => {
    const q = queue({ t: 0 });
    q.add(pod('p'));
    const qp = (await q.pop())!;
    const cycle = q.cycle;
    q.moveAllToActiveOrBackoffQueue(EVENTS.NodeAdd);
    qp.unschedulablePlugins = new Set(['NodeResourcesFit']);
    q.addUnschedulableIfNotPresent(qp, cycle);
    expect(q.where(qp.pod)).toBe('backoff');
    q.close();
  });

  it('an error (no rejecting plugin) goes to backoffQ', async () => {
    const q = queue({ t: 0 });
    q.add(pod('p'));
    const qp = (await q.pop())!;
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    expect(q.where(qp.pod)).toBe('backoff');
    q.close();
  });

  it('the leftover flush moves pods waiting more than 5 minutes', async () => {
    const clock = { t: 0 };
    const q = queue(clock);
    q.add(pod('p'));
    const qp = (await q.pop())!;
    qp.unschedulablePlugins = new Set(['NodeAffinity']);
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    clock.t = 5 * 60_000;
    q.flushUnschedulablePodsLeftover();
    expect(q.where(qp.pod)).toBe('unschedulable');
    clock.t = 5 * 60_000 + 1;
    q.flushUnschedulablePodsLeftover();
    expect(q.where(qp.pod)).toBe('active');
    q.close();
  });

  it('a status-only update leaves an unschedulable pod waiting; a spec or label change moves it', async () => {
    const q = queue({ t: 0 });
    const p = pod('p');
    q.add(p);
    const qp = (await q.pop())!;
    qp.unschedulablePlugins = new Set(['NodeAffinity']);
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    const withStatus = { ...p, metadata: { ...p.metadata, resourceVersion: '9' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' as const }] } };
    expect(isPodUpdated(p, withStatus)).toBe(false);
    q.update(p, withStatus);
    expect(q.where(p)).toBe('unschedulable');
    const relabelled = { ...withStatus, metadata: { ...withStatus.metadata, labels: { a: 'b' } } };
    q.update(withStatus, relabelled);
    expect(q.where(p)).not.toBe('unschedulable');
    q.close();
  });

  it('a pod deleted while in flight is not requeued', async () => {
    const q = queue({ t: 0 });
    const p = pod('p');
    q.add(p);
    const qp = (await q.pop())!;
    q.delete(p);
    q.addUnschedulableIfNotPresent(qp, q.cycle);
    expect(q.where(p)).toBeUndefined();
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
    q.close();
  });

  it('pop waits for a pod and ends on close', async () => {
    const q = queue({ t: 0 });
    const waiting = q.pop();
    q.add(pod('late'));
    expect((await waiting)!.pod.metadata.name).toBe('late');
    const ended = q.pop();
    q.close();
    expect(await ended).toBeUndefined();
  });

  it('a node update names the plugins its change can help', () => {
    const a = node('n');
    expect(nodeUpdateEvent(a, { ...a, metadata: { ...a.metadata, resourceVersion: '2' } })).toBeUndefined();
    expect([...(nodeUpdateEvent(a, node('n', { cpu: '8' }))!.plugins as Set<string>)]).toEqual(['NodeResourcesFit']);
    expect([...(nodeUpdateEvent(a, node('n', { labels: { x: 'y' } }))!.plugins as Set<string>)]).toEqual(['NodeAffinity']);
    expect([...(nodeUpdateEvent(a, node('n', { unschedulable: true }))!.plugins as Set<string>)]).toEqual(['NodeUnschedulable']);
  });
});
