import type { KubeObject, OwnerReference } from '@pilot/api';
import { classifyOwners, planDependent, planOwner, waitsOnItself, type OwnerView } from '../../src/controller/garbagecollector/plan.js';
import { guardedListPatch } from '../../src/controller/garbagecollector/controller.js';

const T0 = '2026-01-02T15:00:00Z';

function rc(name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...extra } };
}
const ref = (owner: KubeObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  ...extra,
});
function pod(name: string, owners: OwnerReference[], extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}`, ownerReferences: owners, ...extra } };
}
const target = (o: KubeObject) => ({ kind: o.kind, apiVersion: o.apiVersion, namespace: 'ns', name: o.metadata.name, uid: o.metadata.uid });
/** Owner views from a world of objects: present if listed, absent otherwise. */
const world = (...objs: KubeObject[]) => (r: OwnerReference): OwnerView => {
  const o = objs.find((x) => x.metadata.uid === r.uid);
  return o ? { state: 'present', obj: o } : { state: 'absent' };
};

describe('garbage collector: an object and its owners (attemptToDeleteItem)', () => {
  const a = rc('a');
  const b = rc('b');
  const foreground = rc('fg', { deletionTimestamp: T0, finalizers: ['foregroundDeletion'] });
  const orphaning = rc('or', { deletionTimestamp: T0, finalizers: ['orphan'] });

  it('classifies owners: present is solid (also one being orphaned), gone is dangling, foreground-deleting is waiting', () => {
    const c = classifyOwners([ref(a), ref(b), ref(foreground), ref(orphaning)], world(a, foreground, orphaning));
    expect(c.solid.map((r) => r.name)).toEqual(['a', 'or']);
    expect(c.dangling.map((r) => r.name)).toEqual(['b']);
    expect(c.waitingForDependentsDeletion.map((r) => r.name)).toEqual(['fg']);
    expect(classifyOwners([ref(a)], () => ({ state: 'unknown' })).solid).toHaveLength(1);
  });

  it('no owners, or an owner alive: nothing', () => {
    expect(planDependent(pod('p', []), world(), [])).toEqual([]);
    expect(planDependent(pod('p', [ref(a)]), world(a), [])).toEqual([]);
  });

  it('Background: every owner gone → deleted with Background (or the propagation its own finalizers ask for)', () => {
    expect(planDependent(pod('p', [ref(a)]), world(), [])).toEqual([{ type: 'delete', target: target(pod('p', [])), propagationPolicy: 'Background' }]);
    expect(planDependent(pod('p', [ref(a)], { finalizers: ['orphan'] }), world(), [])).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Orphan' })]);
    expect(planDependent(pod('p', [ref(a)], { finalizers: ['foregroundDeletion'] }), world(), [])).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Foreground' })]);
  });

  it('one owner left: only the references to gone or waiting owners go', () => {
    expect(planDependent(pod('p', [ref(a), ref(b), ref(foreground)]), world(a, foreground), [])).toEqual([
      { type: 'removeOwnerReferences', target: target(pod('p', [])), uids: ['uid-b', 'uid-fg'] },
    ]);
  });

  it('an unknown owner kind is never taken for gone', () => {
    const cr: OwnerReference = { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'uid-w' };
    expect(planDependent(pod('p', [cr]), () => ({ state: 'unknown' }), [])).toEqual([]);
  });

  it('Foreground: the only owner waits → deleted; in Foreground itself when it has dependents of its own', () => {
    expect(planDependent(pod('p', [ref(foreground, { blockOwnerDeletion: true })]), world(foreground), [])).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Background' })]);
    const mid = rc('mid', { ownerReferences: [ref(foreground)] });
    expect(planDependent(mid, world(foreground), [pod('p', [ref(mid)])])).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Foreground' })]);
  });

  it('an object already being deleted is left to finish', () => {
    expect(planDependent(pod('p', [ref(a)], { deletionTimestamp: T0 }), world(), [])).toEqual([]);
  });
});

describe('garbage collector: an owner being deleted (orphan, foregroundDeletion)', () => {
  it('not being deleted, or no collector finalizer: nothing', () => {
    const a = rc('a');
    expect(planOwner(a, [pod('p', [ref(a)])])).toEqual([]);
    expect(planOwner(rc('x', { deletionTimestamp: T0, finalizers: ['example.com/keep'] }), [])).toEqual([]);
  });

  it('orphan: each dependent loses its reference to the owner, then the finalizer goes', () => {
    const o = rc('or', { deletionTimestamp: T0, finalizers: ['orphan'] });
    const other = rc('other');
    const p1 = pod('p1', [ref(o, { controller: true })]);
    const p2 = pod('p2', [ref(other), ref(o)]);
    expect(planOwner(o, [p1, p2, pod('stranger', [ref(other)])])).toEqual([
      { type: 'removeOwnerReferences', target: target(p1), uids: ['uid-or'] },
      { type: 'removeOwnerReferences', target: target(p2), uids: ['uid-or'] },
      { type: 'removeFinalizer', target: target(o), finalizer: 'orphan' },
    ]);
  });

  it('foregroundDeletion: dependents not yet going are looked at; the finalizer goes once no blocking dependent is left', () => {
    const fg = rc('fg', { deletionTimestamp: T0, finalizers: ['foregroundDeletion'] });
    const blocking = pod('b', [ref(fg, { blockOwnerDeletion: true })]);
    const loose = pod('l', [ref(fg)]);
    const going = pod('g', [ref(fg, { blockOwnerDeletion: true })], { deletionTimestamp: T0 });
    expect(planOwner(fg, [blocking, loose, going])).toEqual([
      { type: 'attemptToDelete', target: target(blocking) },
      { type: 'attemptToDelete', target: target(loose) },
    ]);
    // A terminating blocking dependent still holds the owner.
    expect(planOwner(fg, [going])).toEqual([]);
    // Only non-blocking dependents left: the owner may go (they are collected after it, in the background).
    expect(planOwner(fg, [loose])).toEqual([{ type: 'removeFinalizer', target: target(fg), finalizer: 'foregroundDeletion' }]);
    expect(planOwner(fg, [])).toEqual([{ type: 'removeFinalizer', target: target(fg), finalizer: 'foregroundDeletion' }]);
  });
});

describe('garbage collector: ownership cycles never hold a foreground deletion forever', () => {
  const fg = { deletionTimestamp: T0, finalizers: ['foregroundDeletion'] };
  const blockingRef = (name: string) => ({ apiVersion: 'v1', kind: 'ReplicationController', name, uid: `uid-${name}`, blockOwnerDeletion: true });

  it('deleted in Foreground for an owner that waits, with a dependent that waits too: its references are made non-blocking first (upstream)', () => {
    const a = rc('a', { ...fg, ownerReferences: [blockingRef('b')] });
    const b = rc('b', { ownerReferences: [blockingRef('a')] });
    expect(planDependent(b, world(a), [a])).toEqual([
      { type: 'unblockOwnerReferences', target: target(b), uids: ['uid-a'] },
      { type: 'delete', target: target(b), propagationPolicy: 'Foreground' },
    ]);
    // No waiting dependent: no unblocking.
    const c = rc('c', { ownerReferences: [blockingRef('a')] });
    expect(planDependent(c, world(a), [pod('p', [ref(c)])])).toEqual([{ type: 'delete', target: target(c), propagationPolicy: 'Foreground' }]);
  });

  it('an owner does not look again at a dependent that waits for its own dependents (no ping-pong between two waiting objects)', () => {
    const a = rc('a', { ...fg, ownerReferences: [blockingRef('b')] });
    const b = rc('b', { ...fg, ownerReferences: [blockingRef('a')] });
    expect(planOwner(a, [b])).toEqual([]);
  });

  it('both ends already in Foreground deletion: an owner that waits on itself makes its own references non-blocking', () => {
    const a = rc('a', { ...fg, ownerReferences: [blockingRef('b')] });
    const b = rc('b', { ...fg, ownerReferences: [blockingRef('a')] });
    expect(planOwner(a, [b], () => true)).toEqual([{ type: 'unblockOwnerReferences', target: target(a), uids: ['uid-b'] }]);
    expect(planOwner(a, [b], () => false)).toEqual([]);
  });

  it('waitsOnItself follows blocking dependents in foreground deletion: cycles of two and three yes, a chain or a dependent not waiting no', () => {
    const objs = new Map<string, KubeObject>();
    const put = (o: KubeObject) => objs.set(o.metadata.uid!, o);
    const deps = (owner: KubeObject) => [...objs.values()].filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.blockOwnerDeletion === true));
    // a ⇄ b
    put(rc('a', { ...fg, ownerReferences: [blockingRef('b')] }));
    put(rc('b', { ...fg, ownerReferences: [blockingRef('a')] }));
    expect(waitsOnItself(objs.get('uid-a')!, deps)).toBe(true);
    // x → y → z → x
    put(rc('x', { ...fg, ownerReferences: [blockingRef('z')] }));
    put(rc('y', { ...fg, ownerReferences: [blockingRef('x')] }));
    put(rc('z', { ...fg, ownerReferences: [blockingRef('y')] }));
    expect(waitsOnItself(objs.get('uid-x')!, deps)).toBe(true);
    // p → q → r (r owns nothing back)
    put(rc('p', fg));
    put(rc('q', { ...fg, ownerReferences: [blockingRef('p')] }));
    put(rc('r', { ...fg, ownerReferences: [blockingRef('q')] }));
    expect(waitsOnItself(objs.get('uid-p')!, deps)).toBe(false);
    // m ⇄ n, but n is not being deleted: the collector deletes n, no cycle of waits
    put(rc('m', { ...fg, ownerReferences: [blockingRef('n')] }));
    put(rc('n', { ownerReferences: [blockingRef('m')] }));
    expect(waitsOnItself(objs.get('uid-m')!, deps)).toBe(false);
  });

  /**
   * The planner against a model apiserver: a Foreground delete sets
   * deletionTimestamp + foregroundDeletion, an object without finalizers
   * that is deleted goes, and every change re-plans the objects it touches
   * (as the informer events do). Returns the steps it took to go quiet.
   */
  function run(objs: KubeObject[], deleteFirst: string[]): { left: string[]; steps: number; order: string[] } {
    const model = new Map(objs.map((o) => [o.metadata.uid!, structuredClone(o)]));
    const queue: string[] = [];
    const touch = (uid: string) => {
      const o = model.get(uid);
      if (!o) return;
      queue.push(uid);
      for (const r of o.metadata.ownerReferences ?? []) queue.push(r.uid);
      for (const d of model.values()) if (d.metadata.ownerReferences?.some((r) => r.uid === uid)) queue.push(d.metadata.uid!);
    };
    const order: string[] = [];
    const finish = (o: KubeObject) => {
      if (o.metadata.deletionTimestamp && !(o.metadata.finalizers ?? []).length) {
        touch(o.metadata.uid!);
        model.delete(o.metadata.uid!);
        order.push(o.metadata.name!);
      }
    };
    const del = (uid: string, policy: string) => {
      const o = model.get(uid);
      if (!o || o.metadata.deletionTimestamp) return;
      o.metadata.deletionTimestamp = T0;
      if (policy === 'Foreground') o.metadata.finalizers = [...(o.metadata.finalizers ?? []), 'foregroundDeletion'];
      touch(uid);
      finish(o);
    };
    for (const name of deleteFirst) del(`uid-${name}`, 'Foreground');
    let steps = 0;
    while (queue.length && steps < 1000) {
      steps++;
      const o = model.get(queue.shift()!);
      if (!o) continue;
      const deps = [...model.values()].filter((d) => d.metadata.ownerReferences?.some((r) => r.uid === o.metadata.uid));
      const view = (r: OwnerReference): OwnerView => (model.has(r.uid) ? { state: 'present', obj: model.get(r.uid)! } : { state: 'absent' });
      const blockingDeps = (owner: KubeObject) => [...model.values()].filter((d) => d.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.blockOwnerDeletion === true));
      for (const a of [...planOwner(o, deps, () => waitsOnItself(o, blockingDeps)), ...planDependent(o, view, deps)]) {
        const t = model.get(a.target.uid);
        if (a.type === 'attemptToDelete') queue.push(a.target.uid);
        else if (!t) break;
        else if (a.type === 'delete') del(a.target.uid, a.propagationPolicy);
        else if (a.type === 'removeFinalizer') {
          t.metadata.finalizers = (t.metadata.finalizers ?? []).filter((f) => f !== a.finalizer);
          touch(t.metadata.uid!);
          finish(t);
        } else if (a.type === 'unblockOwnerReferences') {
          t.metadata.ownerReferences = t.metadata.ownerReferences!.map((r) => (a.uids.includes(r.uid) ? { ...r, blockOwnerDeletion: false } : r));
          touch(t.metadata.uid!);
        } else if (a.type === 'removeOwnerReferences') {
          t.metadata.ownerReferences = t.metadata.ownerReferences!.filter((r) => !a.uids.includes(r.uid));
          touch(t.metadata.uid!);
        }
      }
    }
    return { left: [...model.values()].map((o) => o.metadata.name!).sort(), steps, order };
  }

  it('a ⇄ b, a deleted in Foreground: both go, in a bounded number of steps', () => {
    const r = run([rc('a', { ownerReferences: [blockingRef('b')] }), rc('b', { ownerReferences: [blockingRef('a')] })], ['a']);
    expect(r.left).toEqual([]);
    expect(r.steps).toBeLessThan(100);
  });

  it('a ⇄ b, both deleted in Foreground (upstream stays stuck here): both go', () => {
    const r = run([rc('a', { ownerReferences: [blockingRef('b')] }), rc('b', { ownerReferences: [blockingRef('a')] })], ['a', 'b']);
    expect(r.left).toEqual([]);
    expect(r.steps).toBeLessThan(100);
  });

  it('x → y → z → x with pods under each, x deleted in Foreground: everything goes', () => {
    const r = run(
      [
        rc('x', { ownerReferences: [blockingRef('z')] }),
        rc('y', { ownerReferences: [blockingRef('x')] }),
        rc('z', { ownerReferences: [blockingRef('y')] }),
        pod('px', [blockingRef('x')]),
        pod('py', [blockingRef('y')]),
        pod('pz', [blockingRef('z')]),
      ],
      ['x'],
    );
    expect(r.left).toEqual([]);
    expect(r.steps).toBeLessThan(200);
  });

  it('no cycle: an RC deleted in Foreground still waits for its blocking pods, which go first', () => {
    const owner = rc('web');
    const r = run([owner, pod('p1', [ref(owner, { blockOwnerDeletion: true })]), pod('p2', [ref(owner, { blockOwnerDeletion: true })]), rc('other')], ['web']);
    expect(r.left).toEqual(['other']);
    expect(r.order.at(-1)).toBe('web');
  });
});

describe('guarded patches', () => {
  it('test the uid and the list before rewriting it; an emptied list is removed', () => {
    expect(guardedListPatch('u1', '/metadata/finalizers', ['orphan', 'x'], ['x'])).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u1' },
      { op: 'test', path: '/metadata/finalizers', value: ['orphan', 'x'] },
      { op: 'replace', path: '/metadata/finalizers', value: ['x'] },
    ]);
    expect(guardedListPatch('u1', '/metadata/finalizers', ['orphan'], [])[2]).toEqual({ op: 'remove', path: '/metadata/finalizers' });
  });
});
