import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, waitFor } from '@pilot/common';
import { diffStaticPods, ManifestError, newFileSource, staticPodFromManifest } from '../../../src/kubelet/config/file.js';
import type { PodUpdate } from '../../../src/kubelet/config/source.js';

const log = createLogger('test', { level: 'silent' });

const WEB = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: { app: web }
spec:
  containers:
  - name: app
    image: guest/mynode
`;

describe('static pod manifests', () => {
  it('make a pod bound to the node: <name>-<node>, namespace default, a hash UID in config.hash, source file, NoExecute tolerated, defaulted', () => {
    const p = staticPodFromManifest(WEB, '/etc/kubernetes/manifests/web.yaml', 'h1');
    expect(p.metadata).toMatchObject({ name: 'web-h1', namespace: 'default', labels: { app: 'web' } });
    expect(p.metadata.uid).toMatch(/^[0-9a-f]{32}$/);
    expect(p.metadata.annotations).toEqual({ 'kubernetes.io/config.hash': p.metadata.uid, 'kubernetes.io/config.source': 'file' });
    expect(p.spec).toMatchObject({ nodeName: 'h1', restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
    expect(p.spec!.tolerations).toEqual([{ operator: 'Exists', effect: 'NoExecute' }]);
    expect(p.spec!.containers[0]!.imagePullPolicy).toBe('Always');
  });

  it('give the same UID for the same file on the same node, another for another content, node or file', () => {
    const uid = (text: string, file = '/m/web.yaml', node = 'h1') => staticPodFromManifest(text, file, node).metadata.uid;
    expect(uid(WEB)).toBe(uid(WEB));
    expect(uid(WEB.replace('guest/mynode', 'busybox'))).not.toBe(uid(WEB));
    expect(uid(WEB, '/m/other.yaml')).not.toBe(uid(WEB));
    expect(uid(WEB, '/m/web.yaml', 'h2')).not.toBe(uid(WEB));
  });

  it('read JSON as well, and keep a namespace that is given', () => {
    const p = staticPodFromManifest(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j', namespace: 'kube-system' }, spec: { containers: [{ name: 'a', image: 'busybox' }] } }), '/m/j.json', 'h1');
    expect(p.metadata).toMatchObject({ name: 'j-h1', namespace: 'kube-system' });
  });

  it.each([
    ['not: [yaml', /not YAML or JSON/],
    ['- a\n- b\n', /not a Pod object/],
    ['apiVersion: v1\nkind: Service\nmetadata: { name: s }\n', /v1 Service, not a v1 Pod/],
    ['apiVersion: v1\nkind: Pod\nspec: { containers: [] }\n', /metadata.name is required/],
    ['apiVersion: v1\nkind: Pod\nmetadata: { name: x }\nspec: { containers: [] }\n', /invalid: spec.containers/],
  ])('refuse %j with a ManifestError naming the file', (text, why) => {
    const err = (() => {
      try {
        staticPodFromManifest(text, '/m/bad.yaml', 'h1');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect(err!.message).toMatch(/^\/m\/bad\.yaml: /);
    expect(err!.message).toMatch(why);
  });

  it('differ by UID: a changed manifest is its old pod removed and a new one added', () => {
    const a = staticPodFromManifest(WEB, '/m/web.yaml', 'h1');
    const b = staticPodFromManifest(WEB.replace('guest/mynode', 'busybox'), '/m/web.yaml', 'h1');
    expect(diffStaticPods(new Map([[a.metadata.uid!, a]]), [b])).toEqual({ added: [b], removed: [a] });
    expect(diffStaticPods(new Map([[a.metadata.uid!, a]]), [a])).toEqual({ added: [], removed: [] });
  });
});

describe('the file source', () => {
  it('reports a directory’s manifests as ADD, a change as REMOVE + ADD, a removed file as REMOVE; skips hidden files, subdirectories and bad files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    const updates: PodUpdate[] = [];
    const src = newFileSource({ path: dir, nodeName: 'h1', checkFrequencyMs: 60_000, log, onUpdate: (u) => updates.push(u) });
    await src.resync();
    expect(src.hasSynced()).toBe(true);
    expect(src.list()).toEqual([]);
    writeFileSync(join(dir, 'web.yaml'), WEB);
    writeFileSync(join(dir, '.web.yaml.swp'), WEB.replace('name: web', 'name: hidden'));
    writeFileSync(join(dir, 'broken.yaml'), 'not: [yaml');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.yaml'), WEB.replace('name: web', 'name: nested'));
    await src.resync();
    expect(updates.map((u) => [u.op, u.source, u.pods.map((p) => p.metadata.name)])).toEqual([['ADD', 'file', ['web-h1']]]);
    const first = src.list()[0]!;
    expect(src.get(first.metadata.uid!)).toBe(first);
    await src.resync();
    expect(updates).toHaveLength(1);
    writeFileSync(join(dir, 'web.yaml'), WEB.replace('guest/mynode', 'busybox'));
    await src.resync();
    expect(updates.slice(1).map((u) => [u.op, u.pods.map((p) => p.metadata.uid)])).toEqual([
      ['REMOVE', [first.metadata.uid]],
      ['ADD', [src.list()[0]!.metadata.uid]],
    ]);
    rmSync(join(dir, 'web.yaml'));
    await src.resync();
    expect(updates.at(-1)!.op).toBe('REMOVE');
    expect(src.list()).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('takes one file as the path, and a path that does not exist as no pods', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    writeFileSync(join(dir, 'web.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one' }, spec: { containers: [{ name: 'a', image: 'busybox' }] } }));
    const one = newFileSource({ path: join(dir, 'web.json'), nodeName: 'h1', checkFrequencyMs: 60_000, log, onUpdate: () => undefined });
    await one.resync();
    expect(one.list().map((p) => p.metadata.name)).toEqual(['one-h1']);
    const none = newFileSource({ path: join(dir, 'absent'), nodeName: 'h1', checkFrequencyMs: 60_000, log, onUpdate: () => undefined });
    await none.resync();
    expect(none.hasSynced()).toBe(true);
    expect(none.list()).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('picks up a new manifest from file system events, well before the check frequency', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    const updates: PodUpdate[] = [];
    const src = newFileSource({ path: dir, nodeName: 'h1', checkFrequencyMs: 600_000, log, onUpdate: (u) => updates.push(u) });
    const stop = new AbortController();
    const running = src.run(stop.signal);
    await waitFor(() => src.hasSynced(), { timeoutMs: 5_000, intervalMs: 20, what: 'the first read' });
    writeFileSync(join(dir, 'web.yaml'), WEB);
    await waitFor(() => updates.some((u) => u.op === 'ADD'), { timeoutMs: 5_000, intervalMs: 20, what: 'the ADD of web.yaml' });
    stop.abort();
    await running;
    rmSync(dir, { recursive: true });
  });
});
