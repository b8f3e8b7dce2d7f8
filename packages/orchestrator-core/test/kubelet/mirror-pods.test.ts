import type { Pod } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { staticPodFromManifest } from '../../src/kubelet/config/file.js';
import { MirrorPodManager, mirrorPodOf, planMirrorPods } from '../../src/kubelet/mirror-pods.js';
import { StatusManager } from '../../src/kubelet/status-manager.js';

const log = createLogger('test', { level: 'silent' });
const manifest = (name: string, image = 'busybox') => `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name} }\nspec: { containers: [ { name: app, image: ${image} } ] }\n`;
const staticPod = (name: string, image?: string) => staticPodFromManifest(manifest(name, image), `/m/${name}.yaml`, 'h1');
const NODE = { name: 'h1', uid: 'node-uid' };

/** what, static pods, mirror pods in the API (name, of which manifest), mirror pods created, mirror pods deleted. */
type PlanRow = [string, string[], Array<[string, 'same' | 'old' | 'deleting']>, string[], string[]];

let seq = 0;
/** What the apiserver makes of a created mirror pod: a UID of its own. */
function stored(p: Pod, extra: Partial<Pod['metadata']> = {}): Pod {
  return { ...p, metadata: { ...p.metadata, uid: `api-${++seq}`, resourceVersion: String(seq), ...extra } };
}

describe('mirror pods', () => {
  it('copy the static pod with config.mirror = its hash and the Node as controlling owner, without its UID', () => {
    const s = staticPod('web');
    const m = mirrorPodOf(s, NODE);
    expect(m.metadata.name).toBe('web-h1');
    expect(m.metadata.uid).toBeUndefined();
    expect(m.metadata.annotations).toMatchObject({ 'kubernetes.io/config.mirror': s.metadata.uid, 'kubernetes.io/config.hash': s.metadata.uid, 'kubernetes.io/config.source': 'file' });
    expect(m.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'h1', uid: 'node-uid', controller: true }]);
    expect(m.spec).toEqual(s.spec);
  });

  it.each<PlanRow>([
    ['a static pod without one gets one', ['web'], [], ['web-h1'], []],
    ['one of this manifest stays', ['web'], [['web', 'same']], [], []],
    ['one of an older manifest is deleted (made again next pass)', ['web'], [['web', 'old']], [], ['web-h1']],
    ['one being deleted is deleted now (grace 0), to be made again', ['web'], [['web', 'deleting']], [], ['web-h1']],
    ['one whose manifest went is deleted', [], [['web', 'same']], [], ['web-h1']],
  ])('plan: %s', (_what, statics, mirrors, create, del) => {
    const s = statics.map((n) => staticPod(n));
    const m = mirrors.map(([n, how]) => {
      const base = mirrorPodOf(how === 'old' ? staticPod(n, 'nginx') : staticPod(n), NODE);
      return stored(base, how === 'deleting' ? { deletionTimestamp: '2026-12-03T10:00:00Z' } : {});
    });
    const plan = planMirrorPods(s, m);
    expect(plan.create.map((p) => p.metadata.name)).toEqual(create);
    expect(plan.delete.map((r) => r.name)).toEqual(del);
    for (const r of plan.delete) expect(r.uid).toMatch(/^api-/);
  });

  it('are made again after a delete through the API, and the static pod’s status goes to the new one', async () => {
    const s = staticPod('web');
    const api = new Map<string, Pod>();
    const calls: string[] = [];
    const client = {
      get: async () => ({ metadata: { name: 'h1', uid: 'node-uid' } }) as never,
      create: async (_r: string, p: Pod) => {
        calls.push(`create ${p.metadata.name}`);
        const m = stored(p);
        api.set(m.metadata.uid!, m);
        return m as never;
      },
      delete: async (_r: string, name: string, opts: { preconditions?: { uid?: string }; gracePeriodSeconds?: number } = {}) => {
        calls.push(`delete ${name} uid=${opts.preconditions?.uid} grace=${opts.gracePeriodSeconds}`);
        api.delete(opts.preconditions!.uid!);
        return {} as never;
      },
    };
    const mirrors = new MirrorPodManager({ client, nodeName: 'h1', log, staticPods: () => [s], mirrorPods: () => [...api.values()], apiSynced: () => true });
    await mirrors.reconcile();
    expect(calls).toEqual(['create web-h1']);
    const first = mirrors.mirrorOf(s)!;
    expect(first.metadata.uid).toMatch(/^api-/);

    const writes: Array<{ name: string; phase?: string }> = [];
    const status = new StatusManager({
      log,
      isStatic: (uid) => uid === s.metadata.uid,
      apiPod: () => mirrors.mirrorOf(s),
      client: {
        patchStatus: async (_r: string, name: string, patch: unknown) => {
          writes.push({ name, phase: (patch as { status: { phase?: string } }).status.phase });
          return {} as never;
        },
        delete: async () => ({}) as never,
      },
    });
    status.setPodStatus(s, { phase: 'Running' });
    await status.drain();
    expect(writes).toEqual([{ name: 'web-h1', phase: 'Running' }]);

    // kubectl delete pod web-h1: the apiserver marks it; the kubelet finishes the delete and makes a new one.
    api.set(first.metadata.uid!, { ...first, metadata: { ...first.metadata, deletionTimestamp: '2026-12-03T10:00:00Z' } });
    expect(mirrors.mirrorOf(s)).toBeUndefined();
    await mirrors.reconcile();
    await mirrors.reconcile();
    expect(calls.slice(1)).toEqual([`delete web-h1 uid=${first.metadata.uid} grace=0`, 'create web-h1']);
    expect(mirrors.mirrorOf(s)!.metadata.uid).not.toBe(first.metadata.uid);
    status.resend(s.metadata.uid!);
    await status.drain();
    expect(writes).toEqual([
      { name: 'web-h1', phase: 'Running' },
      { name: 'web-h1', phase: 'Running' },
    ]);
  });

  it('hold a static pod’s status until a mirror pod exists (no apiserver yet)', async () => {
    const s = staticPod('web');
    let mirror: Pod | undefined;
    const writes: string[] = [];
    const status = new StatusManager({
      log,
      isStatic: () => true,
      apiPod: () => mirror,
      client: { patchStatus: async (_r: string, name: string) => (writes.push(name), {} as never), delete: async () => ({}) as never },
    });
    status.setPodStatus(s, { phase: 'Running' });
    await status.drain();
    expect(writes).toEqual([]);
    mirror = stored(mirrorPodOf(s, NODE));
    status.resend(s.metadata.uid!);
    await status.drain();
    expect(writes).toEqual(['web-h1']);
  });
});
