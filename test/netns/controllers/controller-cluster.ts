import { Informer, type ApiClient, type Pod } from '@pilot/api';
import { createLogger } from '@pilot/common';
import { Cluster, spawnComponent, startControlPlane, type ControlPlane } from '@pilot/netns';
import { Kubectl } from '../kubectl/helpers.js';
import { FakeKubelets } from './kubelets.js';

export type PodEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * The cluster the workload e2e files (apps, workloads, batch) run on: etcd,
 * `pilot apiserver` (TLS), `pilot scheduler` and `pilot controller-manager`
 * with the named controllers in the master namespace, the real kubectl, the
 * test as the kubelets of `nodes` (kubelets.ts), and an informer on the
 * namespace's pods that hands every event, with the pods then known, to
 * `onPodEvent` — so a test checks its invariants at every observed moment.
 */
export interface ControllerCluster {
  c: Cluster;
  cp: ControlPlane;
  api: ApiClient;
  k: Kubectl;
  kubelets: FakeKubelets;
  pods: Informer<Pod>;
  /** Stops the informer and the kubelets, then removes everything the run made. */
  close(): Promise<void>;
}

export interface ControllerClusterOptions {
  /** Where the pods live and kubectl points; created unless it exists already (`default`). */
  namespace: string;
  nodes: readonly string[];
  /** The controller-manager's --controllers. */
  controllers: readonly string[];
  onPodEvent: (type: PodEventType, pod: Pod, all: Pod[]) => void;
}

export async function startControllerCluster(o: ControllerClusterOptions): Promise<ControllerCluster> {
  const c = await Cluster.create({ hosts: 0, etcd: true });
  const stop = new AbortController();
  let kubelets: FakeKubelets | undefined;
  let watch: Promise<void> | undefined;
  const close = async () => {
    stop.abort();
    await watch;
    await kubelets?.close();
    await c.teardown();
  };
  try {
    const cp = await startControlPlane(c);
    const api = cp.client;
    const k = Kubectl.forRun(c, cp, o.namespace);
    if (o.namespace !== 'default') await api.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } });
    kubelets = new FakeKubelets(api, o.namespace, o.nodes);
    await kubelets.start();
    const pods = new Informer<Pod>(api, 'pods', { namespace: o.namespace, logger: createLogger(`${o.namespace}-e2e-pods`, { level: 'warn' }) });
    const notify = (type: PodEventType) => (p: Pod) => o.onPodEvent(type, p, pods.indexer.list());
    pods.addHandler({ onAdd: notify('ADDED'), onUpdate: (_old, p) => notify('MODIFIED')(p), onDelete: notify('DELETED') });
    watch = pods.start(stop.signal);
    await pods.waitForSync();
    await spawnComponent(c, cp, 'scheduler', ['--leader-elect', 'false']);
    await spawnComponent(c, cp, 'controller-manager', [
      // The fake kubelets renew no Lease: node lifecycle would turn their nodes Unknown.
      '--controllers', o.controllers.join(','),
      '--leader-elect', 'false',
    ]);
    return { c, cp, api, k, kubelets, pods, close };
  } catch (err) {
    await close();
    throw err;
  }
}
