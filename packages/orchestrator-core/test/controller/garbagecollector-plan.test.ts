import type { KubeObject, OwnerReference } from '@pilot/api';
import { classifyOwners, planDependent, planOwner, type OwnerView } from '../../src/controller/garbagecollector/plan.js';
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
    expect(planDependent(pod('p', []), world(), false)).toEqual([]);
    expect(planDependent(pod('p', [ref(a)]), world(a), false)).toEqual([]);
  });

  it('Background: every owner gone → deleted with Background (or the propagation its own finalizers ask for)', () => {
    expect(planDependent(pod('p', [ref(a)]), world(), false)).toEqual([{ type: 'delete', target: target(pod('p', [])), propagationPolicy: 'Background' }]);
    expect(planDependent(pod('p', [ref(a)], { finalizers: ['orphan'] }), world(), false)).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Orphan' })]);
    expect(planDependent(pod('p', [ref(a)], { finalizers: ['foregroundDeletion'] }), world(), false)).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Foreground' })]);
  });

  it('one owner left: only the references to gone or waiting owners go', () => {
    expect(planDependent(pod('p', [ref(a), ref(b), ref(foreground)]), world(a, foreground), false)).toEqual([
      { type: 'removeOwnerReferences', target: target(pod('p', [])), uids: ['uid-b', 'uid-fg'] },
    ]);
  });

  it('an unknown owner kind is never taken for gone', () => {
    const cr: OwnerReference = { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'uid-w' };
    expect(planDependent(pod('p', [cr]), () => ({ state: 'unknown' }), false)).toEqual([]);
  });

  it('Foreground: the only owner waits → deleted; in Foreground itself when it has dependents of its own', () => {
    expect(planDependent(pod('p', [ref(foreground, { blockOwnerDeletion: true })]), world(foreground), false)).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Background' })]);
    expect(planDependent(rc('mid', { ownerReferences: [ref(foreground)] }), world(foreground), true)).toEqual([expect.objectContaining({ type: 'delete', propagationPolicy: 'Foreground' })]);
  });

  it('an object already being deleted is left to finish', () => {
    expect(planDependent(pod('p', [ref(a)], { deletionTimestamp: T0 }), world(), false)).toEqual([]);
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
