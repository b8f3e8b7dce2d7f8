import { formatMicroTime, Informer, isNotFound, type ApiClient, type Lease, type Node, type Pod, type Taint } from '@pilot/api';
import { createLogger } from '@pilot/common';

const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface FakeKubeletsOptions {
  /**
   * Each kubelet also holds its node's Lease in kube-node-lease and renews it
   * every second (as a real kubelet every 10 s), so the node lifecycle
   * controller sees it alive; `silence(node)` stops it.
   */
  leases?: boolean;
}

/**
 * The test as the kubelets of a few Node objects (local to this folder): it
 * registers the nodes Ready and, for every pod bound to one of them, does
 * what a kubelet reports: phase Running, a pod IP from the node's /24, and
 * Ready (or not, as the test says); a pod marked for deletion is finished
 * (deleted with grace 0), unless it carries the label `linger`, so tests
 * can look at terminating pods. A pod the test finished (`finish`: its
 * containers exited) is left as it is, as a kubelet leaves a pod that
 * restarts Never. With `leases`, they renew their nodes' Leases; a silenced
 * kubelet (a dead host) renews nothing and reports nothing more about its
 * pods.
 */
export class FakeKubelets {
  private readonly informer: Informer<Pod>;
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private readonly ips = new Map<string, number>();
  private readonly notReady = new Set<string>();
  private readonly silent = new Set<string>();
  private readonly holds = new Set<(p: Pod) => boolean>();
  private renewer: NodeJS.Timeout | undefined;

  /** The nodes whose kubelet this is (addNode adds one, deleteNode removes it). */
  readonly nodes: string[];

  constructor(
    private readonly api: ApiClient,
    readonly namespace: string,
    nodes: readonly string[],
    private readonly opts: FakeKubeletsOptions = {},
  ) {
    this.nodes = [...nodes];
    this.informer = new Informer<Pod>(api, 'pods', { namespace, logger: createLogger('fake-kubelets', { level: 'warn' }) });
    this.informer.addHandler({ onAdd: (p) => this.act(p), onUpdate: (_o, p) => this.act(p) });
  }

  async start(): Promise<void> {
    for (const [i, name] of this.nodes.entries()) await this.register(name, i);
    if (this.opts.leases) this.renewer = setInterval(() => void this.renewLeases(), 1000);
    this.running = this.informer.start(this.stop.signal);
    await this.informer.waitForSync();
  }

  /** Registers another Node (Ready, with these taints) whose pods this kubelet runs from now on. */
  async addNode(name: string, taints: Taint[] = []): Promise<void> {
    this.nodes.push(name);
    await this.register(name, this.nodes.length - 1, taints);
  }

  /** Deletes the Node object (the host is gone); its pods are no longer reported. */
  async deleteNode(name: string): Promise<void> {
    this.silent.add(name);
    await this.api.delete('nodes', name);
  }

  private async register(name: string, i: number, taints: Taint[] = []): Promise<void> {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: `10.1.${i + 1}.0/24`, ...(taints.length ? { taints } : {}) },
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      },
    };
    const created = await this.api.create<Node>('nodes', node);
    await this.api.updateStatus('nodes', { ...created, status: node.status });
    if (this.opts.leases) {
      await this.api.create<Lease>('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NODE_LEASE_NAMESPACE }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: formatMicroTime() } });
    }
  }

  async close(): Promise<void> {
    if (this.renewer) clearInterval(this.renewer);
    this.stop.abort();
    await this.running;
  }

  /** Pods the kubelets see (informer cache). */
  pods(): Pod[] {
    return this.informer.indexer.list();
  }

  /** Makes the pod's readiness probe pass or fail from now on (and reports it at once). */
  async setReady(name: string, ready: boolean): Promise<void> {
    if (ready) this.notReady.delete(name);
    else this.notReady.add(name);
    const pod = await this.api.get<Pod>('pods', name, { namespace: this.namespace });
    await this.report(pod);
  }

  /**
   * Pods matching `match` report Ready=False (their readiness probe fails)
   * until the returned release is called, which reports them Ready at once.
   */
  holdReady(match: (p: Pod) => boolean): () => Promise<void> {
    this.holds.add(match);
    return async () => {
      this.holds.delete(match);
      await Promise.all(this.informer.indexer.list().filter((p) => match(p) && p.spec?.nodeName && !p.metadata.deletionTimestamp).map((p) => this.report(p)));
    };
  }

  private wantsReady(pod: Pod): boolean {
    if (this.notReady.has(pod.metadata.name!)) return false;
    for (const h of this.holds) if (h(pod)) return false;
    return true;
  }

  /** Reports that the pod's containers exited: 0 makes it Succeeded, anything else Failed (restartPolicy Never). */
  async finish(name: string, exitCode: number): Promise<void> {
    const pod = await this.api.get<Pod>('pods', name, { namespace: this.namespace });
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const reason = exitCode === 0 ? 'Completed' : 'Error';
    const status = {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name, ready: false, restartCount: 0, image: c.image ?? '', imageID: '',
        state: { terminated: { exitCode, reason, startedAt: pod.status?.startTime ?? now, finishedAt: now } },
      })),
    };
    await this.api.patchStatus('pods', name, { status }, 'merge', { namespace: this.namespace });
  }

  /** The node's kubelet dies: no more Lease renewals, no more pod status. */
  silence(node: string): void {
    this.silent.add(node);
  }

  private async renewLeases(): Promise<void> {
    const renewTime = formatMicroTime();
    await Promise.all(
      this.nodes
        .filter((n) => !this.silent.has(n))
        .map((n) => this.api.patch('leases', n, { spec: { renewTime } }, 'merge', { namespace: NODE_LEASE_NAMESPACE }).catch(() => undefined)), // a slow answer: the next tick renews
    );
  }

  private async act(pod: Pod): Promise<void> {
    const node = pod.spec?.nodeName;
    if (!node || !this.nodes.includes(node) || this.silent.has(node)) return;
    if (pod.metadata.deletionTimestamp) {
      if (pod.metadata.labels?.linger !== undefined) return;
      await this.api.delete('pods', pod.metadata.name!, { namespace: this.namespace, gracePeriodSeconds: 0 }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const wantReady = this.wantsReady(pod);
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (pod.status?.phase === 'Running' && pod.status.podIP && ready === wantReady) return;
    await this.report(pod);
  }

  private async report(pod: Pod): Promise<void> {
    const node = pod.spec!.nodeName!;
    const i = this.nodes.indexOf(node);
    let ip = pod.status?.podIP;
    if (!ip) {
      const n = (this.ips.get(node) ?? 1) + 1;
      this.ips.set(node, n);
      ip = `10.1.${i + 1}.${n}`;
    }
    const ready = this.wantsReady(pod);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const prevReady = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const changed = prevReady?.status !== (ready ? 'True' : 'False');
    const status = {
      phase: 'Running',
      hostIP: `192.0.2.${i + 1}`,
      podIP: ip,
      podIPs: [{ ip }],
      startTime: pod.status?.startTime ?? now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: changed || !prevReady?.lastTransitionTime ? after(prevReady?.lastTransitionTime, now) : prevReady.lastTransitionTime },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, ready, restartCount: 0, image: c.image ?? '', imageID: '', state: { running: { startedAt: now } } })),
    };
    await this.api.patchStatus('pods', pod.metadata.name!, { status }, 'merge', { namespace: this.namespace }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
}

/**
 * A transition time later than the previous one: conditions carry seconds,
 * and two transitions within one second would look like none to the
 * endpoints controller's trigger-time tracker.
 */
function after(prev: string | undefined, now: string): string {
  const p = prev ? Date.parse(prev) : NaN;
  if (!Number.isFinite(p) || Date.parse(now) > p) return now;
  return new Date(p + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
