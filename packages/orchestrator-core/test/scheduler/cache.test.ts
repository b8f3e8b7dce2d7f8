import { Cache } from '../../src/scheduler/cache.js';
import { Snapshot } from '../../src/scheduler/node-info.js';
import { node, pod, silentLog } from './fixtures.js';

describe('scheduler cache', () => {
  it('an assumed pod takes capacity in the next snapshot; forgetting frees it', () => {
    const c = new Cache(silentLog);
    c.addNode(node('n', { cpu: '2' }));
    const snap = new Snapshot();
    expect(c.updateSnapshot(snap).get('n')!.requested.milliCPU).toBe(0);
    const p = pod('p', { cpu: '1500m', nodeName: 'n' });
    c.assumePod(p);
    expect(c.isAssumedPod(p)).toBe(true);
    expect(c.updateSnapshot(snap).get('n')!.requested.milliCPU).toBe(1500);
    c.forgetPod(p);
    expect(c.updateSnapshot(snap).get('n')!.requested.milliCPU).toBe(0);
  });

  it('the informer confirms an assumed pod (once), on the node it was bound to', () => {
    const c = new Cache(silentLog);
    c.addNode(node('a'));
    c.addNode(node('b'));
    const p = pod('p', { cpu: '1', nodeName: 'a' });
    c.assumePod(p);
    c.addPod({ ...p, spec: { ...p.spec!, nodeName: 'b' } });
    expect(c.isAssumedPod(p)).toBe(false);
    const snap = c.updateSnapshot(new Snapshot());
    expect(snap.get('a')!.pods).toHaveLength(0);
    expect(snap.get('b')!.pods).toHaveLength(1);
    expect(c.stats()).toEqual({ nodes: 2, pods: 1, assumed: 0 });
  });

  it('an assumed pod whose bind finished expires after the TTL unless confirmed', () => {
    const c = new Cache(silentLog, 30_000);
    c.addNode(node('n'));
    const p = pod('p', { cpu: '1', nodeName: 'n' });
    c.assumePod(p);
    // Not before the bind answered.
    expect(c.cleanupAssumedPods(1e12)).toEqual([]);
    c.finishBinding(p, 1000);
    expect(c.cleanupAssumedPods(31_000)).toEqual([]);
    expect(c.cleanupAssumedPods(31_001)).toEqual(['default/p']);
    expect(c.updateSnapshot(new Snapshot()).get('n')!.pods).toHaveLength(0);
  });

  it('a removed pod frees its node; a pod on an unknown node waits for the node', () => {
    const c = new Cache(silentLog);
    const p = pod('p', { cpu: '1', nodeName: 'later' });
    c.addPod(p);
    const snap = new Snapshot();
    expect(c.updateSnapshot(snap).numNodes).toBe(0);
    c.addNode(node('later'));
    expect(c.updateSnapshot(snap).get('later')!.requested.milliCPU).toBe(1000);
    c.removePod(p);
    expect(c.updateSnapshot(snap).get('later')!.requested.milliCPU).toBe(0);
  });

  it('the snapshot copies only changed nodes and keeps the node order', () => {
    const c = new Cache(silentLog);
    for (const n of ['a', 'b', 'c']) c.addNode(node(n));
    const snap = c.updateSnapshot(new Snapshot());
    const [a, b] = snap.nodeInfoList;
    c.addPod(pod('p', { nodeName: 'b' }));
    c.updateSnapshot(snap);
    expect(snap.nodeInfoList.map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect(snap.nodeInfoList[0]).toBe(a);
    expect(snap.nodeInfoList[1]).not.toBe(b);
    c.removeNode(node('a'));
    expect(c.updateSnapshot(snap).nodeInfoList.map((n) => n.name)).toEqual(['b', 'c']);
  });

  it('counts on how many nodes each image is', () => {
    const c = new Cache(silentLog);
    const img = { names: ['web:1'], sizeBytes: 100 };
    c.addNode(node('a', { images: [img] }));
    c.addNode(node('b', { images: [img] }));
    const snap = c.updateSnapshot(new Snapshot());
    expect(snap.get('a')!.imageStates.get('web:1')).toMatchObject({ size: 100, numNodes: 2 });
    c.removeNode(node('b'));
    expect(c.updateSnapshot(snap).get('a')!.imageStates.get('web:1')).toMatchObject({ numNodes: 1 });
  });
});
