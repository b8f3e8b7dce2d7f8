import { type ApiClient, type Informer, type Job, type Node, type Pod, type PodDisruptionBudget, type ReplicationController } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { withLogsOnFailure, type Cluster, type ControlPlane } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { startControllerCluster, type ControllerCluster } from './controller-cluster.js';
import type { FakeKubelets } from './kubelets.js';

/**
 * Jobs, disruption budgets and draining a node, for real: etcd, `pilot
 * apiserver` (TLS), `pilot scheduler` and `pilot controller-manager` (job,
 * disruption and replication controllers) in the master namespace, the real
 * kubectl. The test acts as the kubelets of three Node objects
 * (kubelets.ts): bound pods become Running and Ready, deleted ones are
 * finished at once (grace 0), and the test says when a Job's containers exit.
 * Every pod event is recorded by an informer, so the invariants (no more
 * than parallelism active, never fewer than minAvailable ready) are checked
 * at every observed moment, not sampled.
 */

let cluster: ControllerCluster | undefined;
let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let kubelets: FakeKubelets;
const NS = 'batch';
const NODES = ['n1', 'n2', 'n3'];
let pods: Informer<Pod>;
/** Called on every pod event the informer observes, with the pod and the whole cache at that moment. */
const observers = new Set<(pod: Pod, all: Pod[]) => void>();

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

const isActive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const isReady = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;

function job(name: string, spec: Partial<NonNullable<Job['spec']>>): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox', command: ['true'] }] } }, ...spec },
  };
}

async function waitForJobCondition(name: string, type: 'Complete' | 'Failed', timeoutMs = 60_000): Promise<Job> {
  return waitFor(
    async () => {
      const j = await api.get<Job>('jobs', name, { namespace: NS });
      return j.status?.conditions?.some((x) => x.type === type && x.status === 'True') ? j : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `job ${NS}/${name} to have condition ${type}` },
  );
}

/** While installed, finishes every Running pod of the Job with `exitCode`, as its container would. */
function finishPodsOf(jobName: string, exitCode: number): () => void {
  const finishing = new Set<string>();
  const observer = (p: Pod) => {
    if (p.metadata.labels?.['batch.kubernetes.io/job-name'] !== jobName || p.status?.phase !== 'Running' || p.metadata.deletionTimestamp) return;
    if (finishing.has(p.metadata.name!)) return;
    finishing.add(p.metadata.name!);
    void kubelets.finish(p.metadata.name!, exitCode).catch(() => finishing.delete(p.metadata.name!));
  };
  observers.add(observer);
  return () => observers.delete(observer);
}

beforeAll(async () => {
  cluster = await startControllerCluster({
    namespace: NS,
    nodes: NODES,
    controllers: ['replicationcontroller', 'job', 'disruption'],
    onPodEvent: (_type, p, all) => {
      for (const o of observers) o(p, all);
    },
  });
  ({ c, cp, api, k, kubelets, pods } = cluster);
});


afterAll(async () => {
  await cluster?.close();
});


describe('batch/v1 Job', () => {
  t('a Job of 3 completions with parallelism 2 completes, never with more than 2 pods active', async () => {
    let maxActive = 0;
    const count = (_p: Pod, all: Pod[]) => {
      maxActive = Math.max(maxActive, all.filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'three' && isActive(p)).length);
    };
    observers.add(count);
    const stop = finishPodsOf('three', 0);
    try {
      await api.create('jobs', job('three', { completions: 3, parallelism: 2 }), { namespace: NS });
      const done = await waitForJobCondition('three', 'Complete');
      expect(done.status).toMatchObject({ succeeded: 3, failed: 0, active: 0 });
      expect(done.status?.completionTime).toBeDefined();
    } finally {
      stop();
      observers.delete(count);
    }
    expect(maxActive).toBeGreaterThan(0);
    expect(maxActive).toBeLessThanOrEqual(2);
    const mine = pods.indexer.list().filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'three');
    expect(mine.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    const rows = tableRows(await k.ok(['get', 'jobs', 'three']));
    expect(rows[0]).toEqual(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    expect(rows[1]?.slice(0, 3)).toEqual(['three', 'Complete', '3/3']);
  });

  t('a Job whose pods fail exceeds its backoffLimit and reports Failed with BackoffLimitExceeded', async () => {
    const stop = finishPodsOf('flaky', 1);
    try {
      await api.create('jobs', job('flaky', { backoffLimit: 1 }), { namespace: NS });
      const failed = await waitForJobCondition('flaky', 'Failed', 90_000);
      expect(failed.status?.conditions?.find((x) => x.type === 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
      expect(failed.status).toMatchObject({ failed: 2, succeeded: 0, active: 0 });
    } finally {
      stop();
    }
    // backoffLimit 1: the first pod and one retry, no more.
    expect(pods.indexer.list().filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'flaky')).toHaveLength(2);
    const rows = tableRows(await k.ok(['get', 'job', 'flaky']));
    expect(rows[1]?.slice(0, 3)).toEqual(['flaky', 'Failed', '0/1']);
    const events = await k.ok(['get', 'events', '--field-selector', 'involvedObject.name=flaky', '-o', 'jsonpath={.items[*].reason}']);
    expect(events.split(' ')).toEqual(expect.arrayContaining(['SuccessfulCreate', 'BackoffLimitExceeded']));
  });
});

describe('policy/v1 PodDisruptionBudget and kubectl drain', () => {
  t('drain --ignore-daemonsets moves an RC\'s pods elsewhere without ever going below minAvailable; uncordon makes the node schedulable again', async () => {
    const rc: ReplicationController = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 3, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } } },
    };
    await api.create('replicationcontrollers', rc, { namespace: NS });
    await k.ok(['create', 'poddisruptionbudget', 'web', '--selector', 'app=web', '--min-available', '2']);
    const web = (all: Pod[]) => all.filter((p) => p.metadata.labels?.app === 'web');
    await waitFor(async () => (web(pods.indexer.list()).filter(isReady).length === 3 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: '3 ready pods of rc web' });
    const budget = await waitFor(
      async () => {
        const b = await api.get<PodDisruptionBudget>('poddisruptionbudgets', 'web', { namespace: NS });
        return b.status?.disruptionsAllowed === 1 && b.status.currentHealthy === 3 ? b : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'pdb web to allow 1 disruption' },
    );
    expect(budget.status).toMatchObject({ desiredHealthy: 2, expectedPods: 3 });
    const pdbRows = tableRows(await k.ok(['get', 'pdb', 'web']));
    expect(pdbRows[0]).toEqual(['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
    expect(pdbRows[1]?.slice(0, 4)).toEqual(['web', '2', 'N/A', '1']);

    // From here on every observed moment must keep at least minAvailable ready pods.
    let minReady = Infinity;
    const events: string[] = [];
    const record = (p: Pod, all: Pod[]) => {
      if (p.metadata.labels?.app !== 'web') return;
      const ready = web(all).filter(isReady).length;
      minReady = Math.min(minReady, ready);
      events.push(`${p.metadata.name} ${p.spec?.nodeName ?? '-'} ${p.metadata.deletionTimestamp ? 'terminating' : (p.status?.phase ?? '')} ready=${ready}`);
    };
    observers.add(record);
    // Drain the node with the most of the RC's pods, so the budget is tested when there are two.
    const perNode = new Map<string, number>();
    for (const p of web(pods.indexer.list())) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    const target = [...perNode.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    let drainOut: string;
    try {
      const r = await k.run(['drain', target, '--ignore-daemonsets', '--timeout=120s'], { timeoutMs: 150_000 });
      drainOut = `${r.stdout}${r.stderr}`;
      expect({ exitCode: r.exitCode, drainOut }).toMatchObject({ exitCode: 0 });
      await waitFor(async () => {
        const all = web(pods.indexer.list());
        return all.length === 3 && all.filter(isReady).length === 3 && all.every((p) => p.spec?.nodeName !== target) ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100, what: `3 ready pods of rc web off ${target}` });
    } finally {
      observers.delete(record);
    }
    expect(drainOut).toContain(`node/${target} cordoned`);
    expect(drainOut).toContain(`node/${target} drained`);
    expect(drainOut).toMatch(/evicting pod batch\/web-/);
    expect({ minReady, events }).toMatchObject({ minReady: expect.any(Number) });
    expect(minReady).toBeGreaterThanOrEqual(2);
    expect((await api.get<Node>('nodes', target)).spec?.unschedulable).toBe(true);

    // A pod that can only run on the drained node stays unscheduled while it is cordoned, and lands once uncordoned.
    const pinned: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pinned', namespace: NS },
      spec: { nodeSelector: { 'kubernetes.io/hostname': target }, containers: [{ name: 'c', image: 'busybox' }] },
    };
    await api.create('pods', pinned, { namespace: NS });
    await waitFor(
      async () => {
        const p = await api.get<Pod>('pods', 'pinned', { namespace: NS });
        return p.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.status === 'False') ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'pod pinned to be found unschedulable' },
    );
    expect((await api.get<Pod>('pods', 'pinned', { namespace: NS })).spec?.nodeName).toBeUndefined();
    expect(await k.ok(['uncordon', target])).toContain(`node/${target} uncordoned`);
    expect((await api.get<Node>('nodes', target)).spec?.unschedulable).toBeFalsy();
    await waitFor(async () => ((await api.get<Pod>('pods', 'pinned', { namespace: NS })).spec?.nodeName === target ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `pod pinned to be bound to ${target}`,
    });
  });

  t("an eviction the budget cannot afford is 429 with upstream's message", async () => {
    const [victim] = (await api.list<Pod>('pods', { namespace: NS, labelSelector: 'app=web' })).items;
    await k.ok(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":3}}']);
    await waitFor(async () => {
      const b = await api.get<PodDisruptionBudget>('poddisruptionbudgets', 'web', { namespace: NS });
      return b.status?.observedGeneration === b.metadata.generation && b.status?.disruptionsAllowed === 0 ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'pdb web to allow no disruption' });
    const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim!.metadata.name, namespace: NS } });
    const stderr = await k.fails(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${victim!.metadata.name}/eviction`, '-f', '-'], { input: body });
    expect(stderr).toContain("Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget.");
    // Nothing was deleted.
    expect((await api.get<Pod>('pods', victim!.metadata.name!, { namespace: NS })).metadata.deletionTimestamp).toBeUndefined();
  });
});
