import { POD_TEMPLATE_HASH_LABEL, type Informer, type ApiClient, type Deployment, type Endpoints, type Pod, type ReplicaSet, type Service } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { withLogsOnFailure, type Cluster, type ControlPlane } from '@pilot/netns';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { startControllerCluster, type ControllerCluster } from './controller-cluster.js';
import type { FakeKubelets } from './kubelets.js';

/**
 * Deployments and ReplicaSets, for real: etcd, `pilot apiserver` (TLS),
 * `pilot scheduler` and `pilot controller-manager` (deployment, replicaset
 * and garbagecollector controllers) in the master namespace, the real
 * kubectl. The test acts as the kubelets of three Node objects
 * (kubelets.ts): bound pods become Running and Ready at once unless the test
 * holds their readiness, and a deleted pod is finished at once (grace 0).
 * Every pod event is recorded by an informer, so the rollout's invariants
 * (at most replicas + maxSurge non-terminating pods, never fewer than
 * replicas − maxUnavailable Ready) are checked at every observed moment.
 */

let cluster: ControllerCluster | undefined;
let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let kubelets: FakeKubelets;
const NS = 'apps';
const NODES = ['n1', 'n2', 'n3'];
const A = 'busybox:1.35';
const B = 'busybox:1.36';
let pods: Informer<Pod>;
const observers = new Set<(pod: Pod, all: Pod[]) => void>();

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

const isLive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const isReady = (p: Pod) => isLive(p) && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
const appPods = (all: Pod[], app: string) => all.filter((p) => p.metadata.labels?.app === app);
const imageOf = (p: Pod) => p.spec?.containers?.[0]?.image;

async function deployment(name: string): Promise<Deployment> {
  return api.get<Deployment>('deployments', name, { namespace: NS });
}

async function replicaSetsOf(name: string): Promise<ReplicaSet[]> {
  const d = await deployment(name);
  const list = await api.list<ReplicaSet>('replicasets', { namespace: NS });
  return list.items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
}

/** Waits until `app` has exactly `n` live pods, all Ready and of `image`. */
async function waitForPods(app: string, n: number, image: string, timeoutMs = 60_000): Promise<Pod[]> {
  return waitFor(
    () => {
      const all = appPods(pods.indexer.list(), app).filter(isLive);
      return all.length === n && all.every((p) => isReady(p) && imageOf(p) === image) ? all : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `${n} Ready pods of ${app} with image ${image}` },
  );
}

beforeAll(async () => {
  cluster = await startControllerCluster({
    namespace: NS,
    nodes: NODES,
    controllers: ['deployment', 'replicaset', 'garbagecollector', 'endpoint'],
    onPodEvent: (_type, p, all) => {
      for (const o of observers) o(p, all);
    },
  });
  ({ c, cp, api, k, kubelets, pods } = cluster);
});


afterAll(async () => {
  await cluster?.close();
});


describe('apps/v1 Deployment', () => {
  t('kubectl create deployment (a protobuf body) makes a ReplicaSet <name>-<hash> and 3 Ready pods', async () => {
    await k.ok(['create', 'deployment', 'web', `--image=${A}`, '--replicas=3', '--port=80']);
    const ready = await waitForPods('web', 3, A);
    const rss = await replicaSetsOf('web');
    expect(rss).toHaveLength(1);
    const hash = rss[0]!.metadata.labels?.[POD_TEMPLATE_HASH_LABEL];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(rss[0]!.metadata.name).toBe(`web-${hash}`);
    expect(rss[0]!.spec?.selector?.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(ready.every((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash && p.metadata.name!.startsWith(`web-${hash}-`))).toBe(true);
    expect(rss[0]!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    await waitFor(async () => ((await deployment('web')).status?.availableReplicas === 3 ? true : undefined), { timeoutMs: 30_000, what: 'web available 3' });
    const d = await deployment('web');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status?.conditions?.find((x) => x.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    await waitFor(async () => ((await deployment('web')).status?.conditions?.find((x) => x.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' ? true : undefined), {
      timeoutMs: 30_000,
      what: 'web Progressing NewReplicaSetAvailable',
    });
  });

  t('kubectl set image rolls 3 pods from A to B with at most 4 live and never fewer than 3 Ready; rollout status prints upstream lines', async () => {
    let maxLive = 0;
    let minReady = Infinity;
    const seen: string[] = [];
    const count = (_p: Pod, all: Pod[]) => {
      const mine = appPods(all, 'web');
      maxLive = Math.max(maxLive, mine.filter(isLive).length);
      minReady = Math.min(minReady, mine.filter(isReady).length);
    };
    observers.add(count);
    // New pods stay unready until released, so rollout status sees the rollout in progress.
    const release = kubelets.holdReady((p) => p.metadata.labels?.app === 'web' && imageOf(p) === B);
    try {
      await k.ok(['set', 'image', 'deployment/web', `busybox=${B}`]);
      await waitFor(async () => ((await deployment('web')).status?.updatedReplicas === 1 ? true : undefined), { timeoutMs: 30_000, what: 'one updated replica' });
      // kubectl streams a line per watch event: the held state is printed before the release.
      const status = c!.master.spawn('kubectl-rollout-status', k.argv(['rollout', 'status', 'deployment/web', '--timeout=90s']));
      await status.waitForLog('1 out of 3 new replicas have been updated', 30_000);
      await release();
      await waitFor(() => status.exit, { timeoutMs: 90_000, what: 'kubectl rollout status to exit' });
      seen.push(...status.log().split('\n'));
      expect(status.exit).toEqual({ code: 0, signal: null });
      await waitForPods('web', 3, B);
    } finally {
      observers.delete(count);
      await release();
    }
    expect(seen).toContain('Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...');
    expect(seen).toContain('Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...');
    expect(seen).toContain('deployment "web" successfully rolled out');
    expect(maxLive).toBe(4);
    expect(minReady).toBeGreaterThanOrEqual(3);
    const rss = await replicaSetsOf('web');
    expect(rss).toHaveLength(2);
    expect(rss.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']).sort()).toEqual(['1', '2']);
    const d = await deployment('web');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  t('get deploy,rs -o wide and describe deployment show the rollout', async () => {
    const rows = tableRows(await k.ok(['get', 'deploy,rs', '-o', 'wide']));
    expect(rows[0]).toEqual(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    expect(rows[1]).toEqual(['deployment.apps/web', '3/3', '3', '3', expect.any(String), 'busybox', B, 'app=web']);
    const rsHeader = rows.findIndex((r, i) => i > 0 && r[0] === 'NAME');
    expect(rows[rsHeader]).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    const rsRows = rows.slice(rsHeader + 1);
    expect(rsRows.map((r) => r.slice(1, 4)).sort()).toEqual([['0', '0', '0'], ['3', '3', '3']]);
    const newRS = (await replicaSetsOf('web')).find((rs) => rs.spec?.replicas === 3)!;
    const oldRS = (await replicaSetsOf('web')).find((rs) => rs.spec?.replicas === 0)!;
    const text = await k.ok(['describe', 'deployment', 'web']);
    expect(text).toMatch(new RegExp(`NewReplicaSet:\\s+${newRS.metadata.name} \\(3/3 replicas created\\)`));
    expect(text).toMatch(new RegExp(`OldReplicaSets:\\s+${oldRS.metadata.name} \\(0/0 replicas created\\)`));
    expect(text).toMatch(/StrategyType:\s+RollingUpdate/);
    expect(text).toMatch(/RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
    expect(text).toMatch(/ScalingReplicaSet/);
  });

  t('rollout undo (a JSON Patch) returns to A; scale deployment goes through /scale', async () => {
    const out = await k.ok(['rollout', 'undo', 'deployment/web']);
    expect(out.trim()).toBe('deployment.apps/web rolled back');
    await waitForPods('web', 3, A);
    await k.ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const d = await deployment('web');
    expect(d.spec?.template?.spec?.containers?.[0]?.image).toBe(A);
    // The revision 1 RS is the new one again, at revision 3.
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(await replicaSetsOf('web')).toHaveLength(2);
    await k.ok(['scale', 'deployment', 'web', '--replicas=5']);
    await waitForPods('web', 5, A);
    const history = await k.ok(['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history).toMatch(/^2\s+<none>$/m);
    expect(history).toMatch(/^3\s+<none>$/m);
  });

  t('history keeps at most revisionHistoryLimit old ReplicaSets', async () => {
    await api.patch('deployments', 'web', { spec: { revisionHistoryLimit: 1 } }, 'merge', { namespace: NS });
    for (const tag of ['1.37', '1.38']) {
      await k.ok(['set', 'image', 'deployment/web', `busybox=busybox:${tag}`]);
      await k.ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    }
    const rss = await waitFor(
      async () => {
        const list = await replicaSetsOf('web');
        return list.length === 2 ? list : undefined;
      },
      { timeoutMs: 30_000, what: 'web to keep 1 old ReplicaSet' },
    );
    expect(rss.map((rs) => rs.spec?.template?.spec?.containers?.[0]?.image).sort()).toEqual(['busybox:1.37', 'busybox:1.38']);
  });

  t('a template that never becomes Ready fails rollout status at its progress deadline', async () => {
    const release = kubelets.holdReady((p) => p.metadata.labels?.app === 'stuck');
    try {
      await k.ok(['create', 'deployment', 'stuck', `--image=${A}`, '--replicas=1']);
      await api.patch('deployments', 'stuck', { spec: { progressDeadlineSeconds: 3 } }, 'merge', { namespace: NS });
      const r = await k.run(['rollout', 'status', 'deployment/stuck', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('error: deployment "stuck" exceeded its progress deadline');
      const d = await deployment('stuck');
      expect(d.status?.conditions?.find((x) => x.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: expect.stringMatching(/^ReplicaSet "stuck-\w+" has timed out progressing\.$/) });
      expect(d.status?.conditions?.find((x) => x.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    } finally {
      await release();
    }
    await k.ok(['delete', 'deployment', 'stuck']);
  });

  t('apply -f twice with a changed image: one rollout, no field lost', async () => {
    const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
  labels: {app: applied, tier: web}
  annotations: {kubernetes.io/change-cause: "image ${image}"}
spec:
  replicas: 2
  minReadySeconds: 0
  selector: {matchLabels: {app: applied}}
  template:
    metadata: {labels: {app: applied}}
    spec:
      containers:
      - name: main
        image: ${image}
        ports: [{containerPort: 8080, name: http}]
        env: [{name: MODE, value: blue}]
`;
    await k.ok(['apply', '-f', '-'], { input: manifest(A) });
    await waitForPods('applied', 2, A);
    await k.ok(['apply', '-f', '-'], { input: manifest(B) });
    await waitForPods('applied', 2, B);
    await k.ok(['rollout', 'status', 'deployment/applied', '--timeout=60s']);
    const d = await deployment('applied');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.metadata.labels).toEqual({ app: 'applied', tier: 'web' });
    expect(d.spec?.template?.spec?.containers).toMatchObject([{ name: 'main', image: B, ports: [{ containerPort: 8080, name: 'http' }], env: [{ name: 'MODE', value: 'blue' }] }]);
    expect(await replicaSetsOf('applied')).toHaveLength(2);
    const history = await k.ok(['rollout', 'history', 'deployment/applied']);
    expect(history).toMatch(new RegExp(`^1\\s+image ${A.replace('.', '\\.')}$`, 'm'));
    expect(history).toMatch(new RegExp(`^2\\s+image ${B.replace('.', '\\.')}$`, 'm'));
  });

  t('rollout restart, pause/resume, history --revision, undo --to-revision and expose deployment, with upstream output', async () => {
    const revisions = async () => new Map((await replicaSetsOf('roll')).map((rs) => [rs.metadata.annotations?.['deployment.kubernetes.io/revision'], rs]));
    const rolledOut = () => k.ok(['rollout', 'status', 'deployment/roll', '--timeout=60s']);
    await k.ok(['create', 'deployment', 'roll', `--image=${A}`, '--replicas=2']);
    await k.ok(['annotate', 'deployment', 'roll', `kubernetes.io/change-cause=create ${A}`]);
    await waitForPods('roll', 2, A);
    await rolledOut();

    // restart: a restartedAt annotation on the template is a new template, so a new ReplicaSet (revision 2).
    expect((await k.ok(['rollout', 'restart', 'deployment/roll'])).trim()).toBe('deployment.apps/roll restarted');
    await waitFor(async () => ((await revisions()).has('2') ? true : undefined), { timeoutMs: 30_000, what: 'roll revision 2 after restart' });
    await rolledOut();
    const restarted = (await revisions()).get('2')!;
    expect(restarted.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(appPods(pods.indexer.list(), 'roll').filter(isLive).every((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === restarted.metadata.labels?.[POD_TEMPLATE_HASH_LABEL])).toBe(true);

    // pause: set image makes no ReplicaSet; status (upstream has no paused case) reports 0 updated.
    expect((await k.ok(['rollout', 'pause', 'deployment/roll'])).trim()).toBe('deployment.apps/roll paused');
    await k.ok(['set', 'image', 'deployment/roll', `busybox=${B}`]);
    await k.ok(['annotate', 'deployment', 'roll', '--overwrite', `kubernetes.io/change-cause=set image ${B}`]);
    const paused = await waitFor(async () => {
      const d = await deployment('roll');
      return d.status?.observedGeneration === d.metadata.generation && d.status?.conditions?.find((x) => x.type === 'Progressing')?.reason === 'DeploymentPaused' ? d : undefined;
    }, { timeoutMs: 30_000, what: 'roll to be observed paused' });
    expect(paused.status?.conditions?.find((x) => x.type === 'Progressing')).toMatchObject({ status: 'Unknown', message: 'Deployment is paused' });
    expect([...(await revisions()).keys()].sort()).toEqual(['1', '2']);
    const status = await k.run(['rollout', 'status', 'deployment/roll', '--watch=false']);
    expect(status.stdout).toBe('Waiting for deployment "roll" rollout to finish: 0 out of 2 new replicas have been updated...\n');
    const undoPaused = await k.run(['rollout', 'undo', 'deployment/roll']);
    expect(undoPaused.exitCode).toBe(1);
    expect(undoPaused.stderr).toContain("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again");

    // resume: it rolls to B (revision 3).
    expect((await k.ok(['rollout', 'resume', 'deployment/roll'])).trim()).toBe('deployment.apps/roll resumed');
    await waitForPods('roll', 2, B);
    await rolledOut();
    expect([...(await revisions()).keys()].sort()).toEqual(['1', '2', '3']);

    // history: every revision with its change-cause; --revision=N prints that revision's template.
    const history = await k.ok(['rollout', 'history', 'deployment/roll']);
    expect(history.split('\n')[0]).toBe('deployment.apps/roll ');
    expect(history).toMatch(/^REVISION\s+CHANGE-CAUSE$/m);
    expect(history).toMatch(new RegExp(`^1\\s+create ${A.replace('.', '\\.')}$`, 'm'));
    expect(history).toMatch(new RegExp(`^3\\s+set image ${B.replace('.', '\\.')}$`, 'm'));
    const rev1 = await k.ok(['rollout', 'history', 'deployment/roll', '--revision=1']);
    expect(rev1.split('\n')[0]).toBe('deployment.apps/roll with revision #1');
    expect(rev1).toMatch(/^Pod Template:$/m);
    expect(rev1).toMatch(/^\s+Labels:\s+app=roll$/m);
    expect(rev1).toMatch(new RegExp(`^\\s+Annotations:\\s+kubernetes\\.io/change-cause: create ${A.replace('.', '\\.')}$`, 'm'));
    expect(rev1).toMatch(new RegExp(`^\\s+Image:\\s+${A.replace('.', '\\.')}$`, 'm'));
    expect(rev1).not.toContain('restartedAt');
    const rev2 = await k.ok(['rollout', 'history', 'deployment/roll', '--revision=2']);
    expect(rev2).toMatch(/kubectl\.kubernetes\.io\/restartedAt: \d{4}-/);
    const missing = await k.run(['rollout', 'history', 'deployment/roll', '--revision=9']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('unable to find the specified revision');

    // undo --to-revision=1: A again, revision 1's ReplicaSet becomes revision 4.
    expect((await k.ok(['rollout', 'undo', 'deployment/roll', '--to-revision=1'])).trim()).toBe('deployment.apps/roll rolled back');
    await waitForPods('roll', 2, A);
    await rolledOut();
    const d = await deployment('roll');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    expect(d.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();
    expect([...(await revisions()).keys()].sort()).toEqual(['2', '3', '4']);
    expect((await k.ok(['rollout', 'undo', 'deployment/roll', '--to-revision=4'])).trim()).toBe('deployment.apps/roll skipped rollback (current template already matches revision 4)');

    // expose: a Service with the Deployment's selector, its Endpoints the pods.
    expect((await k.ok(['expose', 'deployment', 'roll', '--port=80', '--target-port=8080'])).trim()).toBe('service/roll exposed');
    const svc = await api.get<Service>('services', 'roll', { namespace: NS });
    expect(svc.spec?.selector).toEqual({ app: 'roll' });
    expect(svc.spec?.ports).toMatchObject([{ port: 80, targetPort: 8080, protocol: 'TCP' }]);
    const podIPs = appPods(pods.indexer.list(), 'roll').filter(isLive).map((p) => p.status?.podIP).sort();
    const ep = await waitFor(async () => {
      const e = await api.get<Endpoints>('endpoints', 'roll', { namespace: NS }).catch(() => undefined);
      const ips = (e?.subsets ?? []).flatMap((x) => (x.addresses ?? []).map((a) => a.ip)).sort();
      return ips.length === 2 ? e : undefined;
    }, { timeoutMs: 30_000, what: 'the Endpoints of roll to list its 2 pods' });
    expect(ep.subsets?.flatMap((x) => (x.addresses ?? []).map((a) => a.ip)).sort()).toEqual(podIPs);
    expect(ep.subsets?.[0]?.ports).toMatchObject([{ port: 8080, protocol: 'TCP' }]);
    await k.ok(['delete', 'service,deployment', 'roll']);
  });

  t('get all lists deployments, replica sets and pods; delete deployment removes its pods', async () => {
    const all = await k.ok(['get', 'all']);
    expect(all).toMatch(/^deployment\.apps\/web\s+5\/5/m);
    expect(all).toMatch(/^replicaset\.apps\/web-\w+\s+5\s+5\s+5/m);
    expect(all).toMatch(/^pod\/web-\w+-\w+\s+1\/1\s+Running/m);
    await k.ok(['delete', 'deployment', 'web']);
    await waitFor(() => (appPods(pods.indexer.list(), 'web').length === 0 ? true : undefined), { timeoutMs: 60_000, what: 'the pods of web to be collected' });
    await waitFor(async () => ((await api.list<ReplicaSet>('replicasets', { namespace: NS, labelSelector: 'app=web' })).items.length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the ReplicaSets of web to be collected',
    });
  });
});
