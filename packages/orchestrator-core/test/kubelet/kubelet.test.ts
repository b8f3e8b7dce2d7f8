import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecorder, ObjectReference, Pod, PodStatus } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { KeyedBackoff } from '../../src/kubelet/back-off.js';
import type { PodSource } from '../../src/kubelet/config/source.js';
import { Kubelet } from '../../src/kubelet/kubelet.js';
import { RuntimeManager } from '../../src/kubelet/kuberuntime/manager.js';
import { Pleg } from '../../src/kubelet/pleg.js';
import type { ProbeManager } from '../../src/kubelet/prober/manager.js';
import { FakeRuntime } from '../../src/kubelet/runtime/fake.js';
import { StatusManager } from '../../src/kubelet/status-manager.js';

/**
 * The kubelet core over the fake runtime: SyncPod → sandbox, containers,
 * status; restarts with CrashLoopBackOff; image pull back-off; graceful
 * deletion; a restarted kubelet adopting what runs; orphans removed.
 */

const log = createLogger('test', { level: 'silent' });

function makePod(name: string, spec: Partial<NonNullable<Pod['spec']>> = {}, image = 'busybox:1'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: '2026-12-02T12:00:00Z' },
    spec: { nodeName: 'h1', restartPolicy: 'Always', terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent' }], ...spec },
    status: { phase: 'Pending' },
  };
}

class World {
  now = 1_000_000;
  readonly rt = new FakeRuntime('10.1.1', ['registry.k8s.io/pause:3.10', 'busybox:1']);
  readonly pods = new Map<string, Pod>();
  readonly writes: Array<{ name: string; status: PodStatus }> = [];
  readonly deletes: Array<{ name: string; gracePeriodSeconds?: number; uid?: string }> = [];
  readonly events: Array<{ reason: string; message: string; fieldPath?: string }> = [];
  readonly backoff = new KeyedBackoff({ initialMs: 10_000, maxMs: 300_000, now: () => this.now });
  readonly imageBackoff = new KeyedBackoff({ initialMs: 10_000, maxMs: 300_000, now: () => this.now });
  /** What the probes say (a stand-in for the prober manager). */
  readonly unready = new Set<string>();
  readonly dead = new Set<string>();
  kubelet!: Kubelet;
  statusManager!: StatusManager;

  constructor() {
    this.rt.now = () => this.now;
    this.start();
  }

  /** A (new) kubelet over the same runtime and API: what a kubelet restart is. */
  start(): void {
    const source: PodSource = {
      hasSynced: () => true,
      get: (uid) => this.pods.get(uid),
      list: () => [...this.pods.values()],
      run: async () => undefined,
    };
    const byName = (name: string) => [...this.pods.values()].find((p) => p.metadata.name === name)!;
    const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (x === null ? undefined : x)));
    this.statusManager = new StatusManager({
      log,
      apiPod: (uid) => this.pods.get(uid),
      client: {
        patchStatus: async (_r: string, name: string, patch: unknown) => {
          const p = byName(name);
          p.status = strip((patch as { status: PodStatus }).status) as PodStatus;
          this.writes.push({ name, status: p.status });
          return p as never;
        },
        delete: async (_r: string, name: string, opts: { gracePeriodSeconds?: number; preconditions?: { uid?: string } } = {}) => {
          this.deletes.push({ name, ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}), ...(opts.preconditions?.uid ? { uid: opts.preconditions.uid } : {}) });
          this.pods.delete(byName(name).metadata.uid!);
          return {} as never;
        },
      },
    });
    const recorder: EventRecorder = {
      event: (subject, _type, reason, message) => void this.events.push({ reason, message, ...((subject as ObjectReference).fieldPath ? { fieldPath: (subject as ObjectReference).fieldPath } : {}) }),
      eventf: () => undefined,
    };
    const runtimeManager = new RuntimeManager({
      runtime: this.rt,
      recorder,
      log,
      backoff: this.backoff,
      imageBackoff: this.imageBackoff,
      rootDir: mkdtempSync(join(tmpdir(), 'kubelet-test-')),
      env: { nodeName: 'h1', hostIp: '192.168.0.1', podIps: [], configMap: async () => undefined, secret: async () => undefined },
      dnsFor: () => ({ servers: ['10.0.0.10'], searches: ['ns.svc.cluster.local'], options: ['ndots:5'] }),
      now: () => this.now,
    });
    this.kubelet = new Kubelet({
      nodeName: 'h1',
      hostIp: () => '192.168.0.1',
      runtime: this.rt,
      runtimeManager,
      statusManager: this.statusManager,
      source,
      pleg: new Pleg({ runtime: this.rt, log, onEvent: () => undefined }),
      prober: {
        addPod: () => undefined,
        removePod: () => undefined,
        readiness: (_pod: Pod, name: string) => (this.unready.has(name) ? false : undefined),
        liveness: (id: string) => (this.dead.has(id) ? false : undefined),
      } as unknown as ProbeManager,
      recorder,
      log,
      resyncIntervalMs: 60_000,
      backOffPeriodMs: 10_000,
    });
  }

  add(p: Pod): Pod {
    this.pods.set(p.metadata.uid!, p);
    return p;
  }

  async sync(p: Pod, type: 'create' | 'update' | 'sync' = 'sync'): Promise<Pod> {
    this.kubelet.podWorkers.updatePod({ type, pod: this.pods.get(p.metadata.uid!) ?? p });
    await this.kubelet.podWorkers.drain();
    await this.statusManager.drain();
    return this.pods.get(p.metadata.uid!) ?? p;
  }

  app(name: string): string[] {
    return [...this.rt.containers].filter(([, c]) => c.config.metadata.name === name).map(([id]) => id);
  }

  verbs(): string[] {
    return this.rt.calls.map((c) => c.verb).filter((v) => !['listPodSandbox', 'listContainers', 'podSandboxStatus', 'containerStatus', 'imageStatus'].includes(v));
  }
}

describe('kubelet SyncPod over the fake runtime', () => {
  it('runs a pod: sandbox with the pod’s DNS, the container joined to it, and reports Running and Ready with the pod IP', async () => {
    const w = new World();
    const p = await w.sync(w.add(makePod('web')), 'create');
    expect(w.verbs()).toEqual(['runPodSandbox', 'createContainer', 'startContainer']);
    const sandboxCfg = w.rt.calls.find((c) => c.verb === 'runPodSandbox')!.args[0] as { metadata: object; hostname: string; dnsConfig: object };
    expect(sandboxCfg).toMatchObject({ metadata: { name: 'web', namespace: 'ns', uid: 'uid-web', attempt: 0 }, hostname: 'web', dnsConfig: { servers: ['10.0.0.10'] } });
    expect(p.status).toMatchObject({ phase: 'Running', podIP: '10.1.1.2', podIPs: [{ ip: '10.1.1.2' }], hostIP: '192.168.0.1', qosClass: 'BestEffort' });
    expect(p.status!.containerStatuses).toEqual([
      expect.objectContaining({ name: 'app', ready: true, restartCount: 0, started: true, image: 'busybox:1', containerID: `docker://${w.app('app')[0]}`, state: { running: { startedAt: '1970-01-01T00:16:40Z' } } }),
    ]);
    expect(p.status!.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    expect(w.events.map((e) => e.reason)).toEqual(['Pulled', 'Created', 'Started']);
    expect(w.events[2]).toEqual({ reason: 'Started', message: 'Started container app', fieldPath: 'spec.containers{app}' });
    // Nothing changed: a resync plans nothing and writes nothing.
    const writes = w.writes.length;
    w.rt.calls.length = 0;
    await w.sync(p);
    expect(w.verbs()).toEqual([]);
    expect(w.writes.length).toBe(writes);
  });

  it('restarts a dead container at once, then backs off: CrashLoopBackOff with upstream’s message, 10 s, then 20 s', async () => {
    const w = new World();
    let p = await w.sync(w.add(makePod('crash')), 'create');
    w.rt.exit(w.app('app')[0]!, 1);
    w.now += 1_000;
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]).toMatchObject({ restartCount: 1, ready: true, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(w.app('app').length).toBe(2);
    w.rt.exit(w.app('app').at(-1)!, 1);
    w.now += 1_000;
    p = await w.sync(p);
    const cs = p.status!.containerStatuses![0]!;
    expect(cs.state?.waiting).toEqual({ reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app pod=crash_ns(uid-crash)' });
    expect(cs).toMatchObject({ restartCount: 1, ready: false, lastState: { terminated: { exitCode: 1 } } });
    expect(p.status!.phase).toBe('Running');
    expect(p.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });
    expect(w.events.at(-1)).toMatchObject({ reason: 'BackOff', message: 'Back-off restarting failed container app in pod crash_ns(uid-crash)' });
    w.now += 10_000;
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]).toMatchObject({ restartCount: 2, state: { running: expect.anything() } });
    // Only the current and the previous instance are kept.
    expect(w.app('app').length).toBe(2);
    w.rt.exit(w.app('app').at(-1)!, 1);
    w.now += 1_000;
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]!.state?.waiting?.message).toMatch(/^back-off 20s /);
  });

  it('restartPolicy Never: a finished pod is Succeeded (exit 0) and its sandbox stopped; Failed for a non-zero exit', async () => {
    const w = new World();
    let ok = await w.sync(w.add(makePod('ok', { restartPolicy: 'Never' })), 'create');
    let bad = await w.sync(w.add(makePod('bad', { restartPolicy: 'Never' })), 'create');
    const [okId] = w.app('app');
    const [, badId] = w.app('app');
    w.rt.exit(okId!, 0);
    w.rt.exit(badId!, 2);
    ok = await w.sync(ok);
    bad = await w.sync(bad);
    expect(ok.status!.phase).toBe('Succeeded');
    expect(ok.status!.containerStatuses![0]!.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(bad.status!.phase).toBe('Failed');
    expect([...w.rt.sandboxes.values()].map((s) => s.state)).toEqual(['SANDBOX_NOTREADY', 'SANDBOX_NOTREADY']);
    expect(w.verbs().filter((v) => v === 'startContainer').length).toBe(2);
  });

  it('restartPolicy OnFailure: restarts a failed container, not one that succeeded', async () => {
    const w = new World();
    let p = await w.sync(w.add(makePod('job', { restartPolicy: 'OnFailure' })), 'create');
    w.rt.exit(w.app('app')[0]!, 3);
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]!.restartCount).toBe(1);
    w.rt.exit(w.app('app').at(-1)!, 0);
    p = await w.sync(p);
    expect(p.status!.phase).toBe('Succeeded');
  });

  it('reports a failing pull as ErrImagePull, then ImagePullBackOff until the delay is over, then pulls again', async () => {
    const w = new World();
    w.rt.failPull('registry.test:5000/nope');
    let p = await w.sync(w.add(makePod('noimage', {}, 'registry.test:5000/nope')), 'create');
    expect(p.status!.containerStatuses![0]!.state?.waiting).toMatchObject({ reason: 'ErrImagePull', message: expect.stringContaining('manifest unknown') });
    expect(p.status!.phase).toBe('Pending');
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]!.state?.waiting).toMatchObject({ reason: 'ImagePullBackOff', message: expect.stringMatching(/^Back-off pulling image "registry.test:5000\/nope": ErrImagePull: /) });
    expect(w.verbs().filter((v) => v === 'pullImage').length).toBe(1);
    w.now += 10_000;
    p = await w.sync(p);
    expect(w.verbs().filter((v) => v === 'pullImage').length).toBe(2);
    expect(p.status!.containerStatuses![0]!.state?.waiting?.reason).toBe('ErrImagePull');
    expect(w.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Pulling', 'Failed', 'BackOff']));
  });

  it('comes back halfway through a pull back-off, so the status shows ImagePullBackOff before the next pull', async () => {
    const w = new World();
    w.rt.failPull('registry.test:5000/nope');
    const pod = w.add(makePod('noimage', {}, 'registry.test:5000/nope'));
    expect(await w.kubelet.syncPod('create', pod)).toEqual({ terminal: false, requeueAfterMs: 5_000 });
    w.now += 5_000;
    expect(await w.kubelet.syncPod('sync', pod)).toEqual({ terminal: false, requeueAfterMs: 5_000 });
    await w.statusManager.drain();
    expect(w.pods.get(pod.metadata.uid!)!.status!.containerStatuses![0]!.state?.waiting?.reason).toBe('ImagePullBackOff');
    expect(w.verbs().filter((v) => v === 'pullImage').length).toBe(1);
  });

  it('stops a pod being deleted within its grace period, then deletes the API object with grace 0 and the uid as precondition', async () => {
    const w = new World();
    const p = await w.sync(w.add(makePod('gone')), 'create');
    w.pods.set(p.metadata.uid!, { ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-12-02T12:01:00Z', deletionGracePeriodSeconds: 7 } });
    await w.sync(p, 'update');
    const stop = w.rt.calls.find((c) => c.verb === 'stopContainer')!;
    expect(stop.args[1]).toBe(7);
    expect(w.verbs().slice(-2)).toEqual(['stopContainer', 'stopPodSandbox']);
    expect(w.deletes).toEqual([{ name: 'gone', gracePeriodSeconds: 0, uid: 'uid-gone' }]);
    // Once the API object is gone, housekeeping removes the containers.
    await w.kubelet.handlePodCleanups();
    expect(w.rt.containers.size).toBe(0);
    expect(w.rt.sandboxes.size).toBe(0);
  });

  it('a restarted kubelet adopts the running containers: no start, no status write, restart count kept', async () => {
    const w = new World();
    let p = await w.sync(w.add(makePod('keep')), 'create');
    w.rt.exit(w.app('app')[0]!, 1);
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]!.restartCount).toBe(1);
    w.start();
    w.rt.calls.length = 0;
    const writes = w.writes.length;
    p = await w.sync(p, 'create');
    expect(w.verbs()).toEqual([]);
    expect(w.writes.length).toBe(writes);
    expect(p.status!.containerStatuses![0]!.restartCount).toBe(1);
  });

  it('stops and removes the containers of a pod the API no longer has (deleted while the kubelet was down)', async () => {
    const w = new World();
    const p = await w.sync(w.add(makePod('orphan')), 'create');
    w.pods.delete(p.metadata.uid!);
    const writes = w.writes.length;
    w.start();
    await w.kubelet.handlePodCleanups();
    await w.kubelet.podWorkers.drain();
    expect(w.verbs()).toContain('stopPodSandbox');
    await w.kubelet.handlePodCleanups();
    expect(w.rt.sandboxes.size).toBe(0);
    // Its name may belong to a new pod by now: nothing is written for it.
    expect(w.writes.length).toBe(writes);
  });

  it('runs init containers one at a time before the app containers (PodInitializing meanwhile)', async () => {
    const w = new World();
    const spec = { initContainers: [{ name: 'init1', image: 'busybox:1', imagePullPolicy: 'IfNotPresent' }, { name: 'init2', image: 'busybox:1', imagePullPolicy: 'IfNotPresent' }] };
    let p = await w.sync(w.add(makePod('init', spec)), 'create');
    expect(w.app('init1').length).toBe(1);
    expect(w.app('app').length).toBe(0);
    expect(p.status!.containerStatuses![0]!.state?.waiting?.reason).toBe('PodInitializing');
    expect(p.status!.conditions!.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [init1 init2]' });
    w.rt.exit(w.app('init1')[0]!, 0);
    p = await w.sync(p);
    expect(w.app('init2').length).toBe(1);
    w.rt.exit(w.app('init2')[0]!, 0);
    p = await w.sync(p);
    expect(w.app('app').length).toBe(1);
    expect(p.status!.phase).toBe('Running');
    expect(p.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason)).toEqual(['Completed', 'Completed']);
  });

  it('a failing readiness probe makes the pod unready; a failing liveness probe restarts the container', async () => {
    const w = new World();
    let p = await w.sync(w.add(makePod('probed')), 'create');
    w.unready.add('app');
    p = await w.sync(p);
    expect(p.status!.containerStatuses![0]!.ready).toBe(false);
    expect(p.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    w.unready.clear();
    w.dead.add(w.app('app')[0]!);
    p = await w.sync(p);
    expect(w.events).toContainEqual({ reason: 'Killing', message: 'Container app failed liveness probe, will be restarted', fieldPath: 'spec.containers{app}' });
    expect(p.status!.containerStatuses![0]).toMatchObject({ restartCount: 1, ready: true, state: { running: expect.anything() } });
  });
});
