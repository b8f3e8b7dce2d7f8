import { fileURLToPath } from 'node:url';
import { type ApiClient, type Informer, type Pod, type Service } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { withLogsOnFailure, type Cluster, type ControlPlane, type Daemon } from '@pilot/netns';
import { parseDig } from '../dnsd/dig.js';
import { Kubectl, tableRows } from '../kubectl/helpers.js';
import { startControllerCluster, type ControllerCluster } from './controller-cluster.js';
import type { FakeKubelets } from './kubelets.js';

/**
 * DaemonSets and StatefulSets for real: etcd, `pilot apiserver` (TLS),
 * `pilot scheduler` and `pilot controller-manager` (daemonset, statefulset,
 * endpoint) in the master namespace, the real kubectl, and a real dnsd fed
 * by the same apiserver answering the real dig. The test acts as the
 * kubelets of the Node objects (kubelets.ts): bound pods become Running and
 * Ready with an IP of their node's /24, deleted ones are finished at once
 * (grace 0). Every pod event is recorded by an informer, so the order of
 * creates, readiness and deletes is checked on what was observed, not sampled.
 */

const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));
const NS = 'default';
const Z = 'cluster.local';

let cluster: ControllerCluster | undefined;
let c: Cluster | undefined;
let cp: ControlPlane;
let api: ApiClient;
let k: Kubectl;
let kubelets: FakeKubelets;
let pods: Informer<Pod>;
/** Every pod event observed: `<type> <name> <node|-> <phase> ready=<bool> deleting=<bool>`, with a snapshot of the cache. */
const observers = new Set<(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod, all: Pod[]) => void>();

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));
const isReady = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
const ownedBy = (kind: string, name: string) => (p: Pod) => p.metadata.ownerReferences?.some((r) => r.kind === kind && r.name === name && r.controller) === true;

beforeAll(async () => {
  cluster = await startControllerCluster({
    namespace: NS,
    nodes: ['n1', 'n2', 'n3'],
    controllers: ['daemonset', 'statefulset', 'endpoint', 'garbagecollector'],
    onPodEvent: (type, p, all) => {
      for (const o of observers) o(type, p, all);
    },
  });
  ({ c, cp, api, k, kubelets, pods } = cluster);
});


afterAll(async () => {
  await cluster?.close();
});


describe('apps/v1 DaemonSet', () => {
  const agentPods = () => pods.indexer.list().filter(ownedBy('DaemonSet', 'agent')).filter((p) => !p.metadata.deletionTimestamp);
  const nodesOf = (list: Pod[]) => list.map((p) => p.spec?.nodeName ?? '-').sort();

  async function waitForAgentsOn(nodes: string[], what: string): Promise<Pod[]> {
    return waitFor(
      async () => {
        const list = agentPods();
        return JSON.stringify(nodesOf(list)) === JSON.stringify([...nodes].sort()) && list.every(isReady) ? list : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 100, what: `${what} (now on ${nodesOf(agentPods()).join(',') || 'none'})` },
    );
  }

  t('places one pod on each of 3 nodes through the scheduler, skips a tainted node unless tolerated, follows a node added and a node deleted', async () => {
    const template = (tolerate: boolean) => ({
      metadata: { labels: { app: tolerate ? 'tolerant' : 'agent' } },
      spec: {
        containers: [{ name: 'agent', image: 'busybox', command: ['sleep', '3600'] }],
        ...(tolerate ? { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] } : {}),
      },
    });
    await api.create('daemonsets', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: NS }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template(false) } }, { namespace: NS });
    const placed = await waitForAgentsOn(['n1', 'n2', 'n3'], 'daemonset agent on n1, n2, n3');
    for (const p of placed) {
      // The controller names the node in a required affinity; the scheduler bound it there.
      expect(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec!.nodeName] }] }]);
      expect(p.spec?.tolerations).toContainEqual({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' });
      expect(p.metadata.labels?.['controller-revision-hash']).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    }
    const ev = await k.ok(['get', 'events', '--field-selector', `involvedObject.name=${placed[0]!.metadata.name}`, '-o', 'jsonpath={.items[*].reason}']);
    expect(ev.split(' ')).toContain('Scheduled');

    // A tainted node: no agent there; a DaemonSet that tolerates the taint gets one.
    await kubelets.addNode('n4', [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    await api.create('daemonsets', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'tolerant', namespace: NS }, spec: { selector: { matchLabels: { app: 'tolerant' } }, template: template(true) } }, { namespace: NS });
    await waitFor(
      async () => {
        const list = pods.indexer.list().filter(ownedBy('DaemonSet', 'tolerant')).filter(isReady);
        return nodesOf(list).join(',') === 'n1,n2,n3,n4' ? true : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 100, what: 'daemonset tolerant on n1..n4' },
    );
    const agent = await waitFor(
      async () => {
        const ds = await api.get<{ status?: Record<string, number> } & { metadata: object }>('daemonsets', 'agent', { namespace: NS });
        return ds.status?.desiredNumberScheduled === 3 && ds.status.numberReady === 3 && ds.status.numberAvailable === 3 ? ds : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'daemonset agent status 3/3' },
    );
    expect(agent.status).toMatchObject({ currentNumberScheduled: 3, updatedNumberScheduled: 3, numberMisscheduled: 0 });
    expect(nodesOf(agentPods())).toEqual(['n1', 'n2', 'n3']);

    // A node added gets its pod; a node deleted loses it.
    await kubelets.addNode('n5');
    await waitForAgentsOn(['n1', 'n2', 'n3', 'n5'], 'daemonset agent on the new node n5');
    await kubelets.deleteNode('n5');
    await waitFor(async () => (pods.indexer.list().filter(ownedBy('DaemonSet', 'agent')).every((p) => p.spec?.nodeName !== 'n5') ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the agent pod of deleted node n5 to be gone',
    });
    await waitForAgentsOn(['n1', 'n2', 'n3'], 'daemonset agent back on n1, n2, n3');

    // A rolling update (maxUnavailable 1): never more than one of the 3 nodes without a ready agent at any observed moment.
    let minReady = Infinity;
    const watchReady = (_type: string, p: Pod, all: Pod[]) => {
      if (ownedBy('DaemonSet', 'agent')(p)) minReady = Math.min(minReady, all.filter(ownedBy('DaemonSet', 'agent')).filter(isReady).length);
    };
    observers.add(watchReady);
    try {
      expect(await k.ok(['set', 'image', 'daemonset/agent', 'agent=busybox:v2'])).toContain('daemonset.apps/agent image updated');
      const status = await k.run(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(status).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('daemon set "agent" successfully rolled out') });
      const rolled = await waitForAgentsOn(['n1', 'n2', 'n3'], 'daemonset agent rolled to busybox:v2');
      expect(rolled.map((p) => p.spec?.containers[0]?.image)).toEqual(['busybox:v2', 'busybox:v2', 'busybox:v2']);
    } finally {
      observers.delete(watchReady);
    }
    expect(minReady).toBeGreaterThanOrEqual(2);
    const history = await k.ok(['rollout', 'history', 'daemonset/agent']);
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);

    const wide = tableRows(await k.ok(['get', 'ds', '-o', 'wide']));
    expect(wide[0]).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    const row = wide.find((r) => r[0] === 'agent');
    expect(row?.slice(0, 7)).toEqual(['agent', '3', '3', '3', '3', '3', '<none>']);
    expect(row?.slice(8)).toEqual(['agent', 'busybox:v2', 'app=agent']);
  });
});

describe('apps/v1 StatefulSet', () => {
  let dnsd: Daemon;
  let dnsPort: number;
  const dig = async (...args: string[]) => parseDig((await c!.master.exec(['dig', `@${c!.master.ip}`, '-p', String(dnsPort), '+tries=1', '+time=3', ...args], { timeoutMs: 20_000 })).stdout);

  t('comes up strictly in order 0, 1, 2 behind a headless Service that dnsd answers per pod; rolls from the highest ordinal; scaling to 1 deletes 2 then 1', async () => {
    dnsPort = await c!.master.freePort();
    dnsd = c!.master.spawn('dnsd', [
      process.execPath, DNSD,
      '--kubeconfig', cp.kubeconfigFor(),
      '--listen', `${c!.master.ip}:${dnsPort}`,
      '--advertise-address', c!.master.ip,
      '--upstream', '127.0.0.1:9',
      '--healthz-port', String(await c!.master.freePort()),
    ]);
    await dnsd.waitForLog('records synced from the API', 30_000);

    await api.create<Service>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nginx', namespace: NS },
      spec: { clusterIP: 'None', selector: { app: 'nginx' }, ports: [{ name: 'web', port: 80, protocol: 'TCP' }] },
    }, { namespace: NS });

    // What the watch saw, in order: creates, readiness, deletion marks and removals of the set's pods.
    const log: string[] = [];
    const seenReady = new Set<string>();
    /** During a rolling update higher ordinals rightly outlive the one being replaced. */
    let updating = false;
    const violations: string[] = [];
    const record = (type: string, p: Pod, all: Pod[]) => {
      if (!ownedBy('StatefulSet', 'web')(p)) return;
      const name = p.metadata.name!;
      const ord = Number(name.slice('web-'.length));
      if (type === 'ADDED') {
        log.push(`create ${name}`);
        // OrderedReady: every lower ordinal Running and Ready when this one is created.
        for (let i = 0; i < ord; i++) if (!all.some((q) => q.metadata.name === `web-${i}` && isReady(q))) violations.push(`${name} created while web-${i} was not ready`);
      } else if (type === 'DELETED') log.push(`gone ${name}`);
      else if (p.metadata.deletionTimestamp && !log.includes(`delete ${name}`)) {
        log.push(`delete ${name}`);
        if (!updating) for (const q of all) if (Number(q.metadata.name!.slice(4)) > ord && ownedBy('StatefulSet', 'web')(q)) violations.push(`${name} deleted while ${q.metadata.name} still existed`);
      } else if (isReady(p) && !seenReady.has(name)) {
        seenReady.add(name);
        log.push(`ready ${name}`);
      }
    };
    observers.add(record);
    try {
      await api.create('statefulsets', {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web', namespace: NS },
        spec: {
          replicas: 3,
          serviceName: 'nginx',
          selector: { matchLabels: { app: 'nginx' } },
          template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'busybox', command: ['httpd', '-f', '-p', '80'], ports: [{ name: 'web', containerPort: 80 }] }] } },
        },
      }, { namespace: NS });
      const up = await waitFor(
        async () => {
          const list = pods.indexer.list().filter(ownedBy('StatefulSet', 'web'));
          return list.length === 3 && list.every(isReady) ? list : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `3 ready pods of statefulset web (seen: ${log.join(', ')})` },
      );
      expect(log.filter((l) => l.startsWith('create'))).toEqual(['create web-0', 'create web-1', 'create web-2']);
      expect(log.filter((l) => !l.startsWith('gone'))).toEqual(['create web-0', 'ready web-0', 'create web-1', 'ready web-1', 'create web-2', 'ready web-2']);
      expect(violations).toEqual([]);
      const web0 = up.find((p) => p.metadata.name === 'web-0')!;
      expect(web0.spec).toMatchObject({ hostname: 'web-0', subdomain: 'nginx' });
      expect(web0.metadata.labels).toMatchObject({ 'statefulset.kubernetes.io/pod-name': 'web-0', 'apps.kubernetes.io/pod-index': '0', 'controller-revision-hash': expect.stringMatching(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/) });

      // dnsd, from the Endpoints the endpoint controller wrote (hostname per pod): one name per pod, the headless name for all.
      const ips = up.map((p) => p.status!.podIP!).sort();
      await waitFor(async () => ((await dig(`web-0.nginx.${NS}.svc.${Z}`, 'A')).answer.map((r) => r.data).join() === web0.status!.podIP ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 300,
        what: `dnsd to answer web-0.nginx.${NS}.svc.${Z} with ${web0.status!.podIP}`,
      });
      await waitFor(async () => ((await dig(`nginx.${NS}.svc.${Z}`, 'A')).answer.map((r) => r.data).sort().join() === ips.join() ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 300,
        what: `dnsd to answer nginx.${NS}.svc.${Z} with ${ips.join(', ')}`,
      });
      const sts = await waitFor(
        async () => {
          const s = await api.get<{ metadata: object; status?: Record<string, unknown> }>('statefulsets', 'web', { namespace: NS });
          return s.status?.readyReplicas === 3 && s.status.updatedReplicas === 3 && s.status.currentRevision === s.status.updateRevision ? s : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'statefulset web status 3 ready, 3 updated' },
      );
      expect(sts.status).toMatchObject({ replicas: 3, currentReplicas: 3, currentRevision: web0.metadata.labels!['controller-revision-hash'] });
      const revs = await k.ok(['get', 'controllerrevisions', '-o', 'jsonpath={.items[*].metadata.name}']);
      expect(revs.split(' ')).toContain(web0.metadata.labels!['controller-revision-hash']);

      const wide = tableRows(await k.ok(['get', 'ds,sts', '-o', 'wide']));
      expect(wide.some((r) => r[0] === 'daemonset.apps/agent')).toBe(true);
      const stsHeader = wide.find((r) => r[0] === 'NAME' && r[1] === 'READY');
      expect(stsHeader).toEqual(['NAME', 'READY', 'AGE', 'CONTAINERS', 'IMAGES']);
      expect(wide.find((r) => r[0] === 'statefulset.apps/web')?.slice(0, 2)).toEqual(['statefulset.apps/web', '3/3']);

      // RollingUpdate: replaced from the highest ordinal, each lower one only once the higher is back Ready.
      log.length = 0;
      seenReady.clear();
      updating = true;
      expect(await k.ok(['set', 'image', 'statefulset/web', 'nginx=busybox:v2'])).toContain('statefulset.apps/web image updated');
      const rollout = await k.run(['rollout', 'status', 'statefulset/web', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(rollout).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('partitioned roll out complete: 3 new pods have been updated...') });
      const rolled = await waitFor(
        async () => {
          const list = pods.indexer.list().filter(ownedBy('StatefulSet', 'web'));
          return list.length === 3 && list.every((p) => isReady(p) && p.spec?.containers[0]?.image === 'busybox:v2') ? list : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `statefulset web rolled to busybox:v2 (seen: ${log.join(', ')})` },
      );
      updating = false;
      expect(log.filter((l) => l.startsWith('delete'))).toEqual(['delete web-2', 'delete web-1', 'delete web-0']);
      expect(log.indexOf('ready web-2')).toBeLessThan(log.indexOf('delete web-1'));
      expect(log.indexOf('ready web-1')).toBeLessThan(log.indexOf('delete web-0'));
      expect(violations).toEqual([]);
      const newRevision = rolled[0]!.metadata.labels!['controller-revision-hash'];
      expect(newRevision).not.toBe(web0.metadata.labels!['controller-revision-hash']);
      await waitFor(
        async () => {
          const s = await api.get<{ metadata: object; status?: Record<string, unknown> }>('statefulsets', 'web', { namespace: NS });
          return s.status?.currentRevision === newRevision && s.status?.updateRevision === newRevision && s.status?.currentReplicas === 3 ? true : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: `statefulset web current revision ${newRevision}` },
      );
      const web0Ip = rolled.find((p) => p.metadata.name === 'web-0')!.status!.podIP!;

      // Scale to 1: web-2 goes first, web-1 only once web-2 is gone.
      log.length = 0;
      expect(await k.ok(['scale', 'statefulset', 'web', '--replicas=1'])).toContain('statefulset.apps/web scaled');
      await waitFor(
        async () => {
          const list = pods.indexer.list().filter(ownedBy('StatefulSet', 'web'));
          return list.length === 1 && list[0]!.metadata.name === 'web-0' ? true : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 100, what: `statefulset web down to web-0 (seen: ${log.join(', ')})` },
      );
      expect(log).toEqual(['delete web-2', 'gone web-2', 'delete web-1', 'gone web-1']);
      expect(violations).toEqual([]);
      await waitFor(async () => ((await dig(`nginx.${NS}.svc.${Z}`, 'A')).answer.map((r) => r.data).join() === web0Ip ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 300,
        what: `dnsd to answer nginx.${NS}.svc.${Z} with web-0 only`,
      });
    } finally {
      observers.delete(record);
    }
  });
});
