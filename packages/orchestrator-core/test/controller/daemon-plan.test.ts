import type { Node, Pod, Taint } from '@pilot/api';
import type { DaemonSet } from '@pilot/api';
import {
  calculateDaemonStatus,
  daemonPodTemplate,
  maxUnavailable,
  nodeShouldRunDaemonPod,
  planDaemonSet,
  targetNodeName,
  templateForNode,
} from '../../src/controller/daemon/daemon-plan.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const HASH = 'newhash';

function node(name: string, extra: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } }, spec: extra.taints ? { taints: extra.taints } : {} };
}

function ds(spec: Partial<NonNullable<DaemonSet['spec']>> = {}, generation = 2): DaemonSet {
  return {
    metadata: { name: 'agent', namespace: 'ns', uid: 'u1', generation },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } }, ...spec },
  };
}

let n = 0;
/** A pod of the DaemonSet on `nodeName`: bound, or (unbound) only naming it in its affinity. */
function pod(nodeName: string, o: { hash?: string; ready?: boolean; phase?: string; deleting?: boolean; unbound?: boolean; ageS?: number } = {}): Pod {
  const t = templateForNode(daemonPodTemplate(ds(), o.hash ?? HASH), nodeName);
  const p: Pod = {
    metadata: { name: `agent-${n++}`, namespace: 'ns', labels: { ...t.metadata!.labels!, 'pod-template-generation': o.hash === undefined || o.hash === HASH ? '2' : '1' }, creationTimestamp: iso(NOW - (o.ageS ?? 60) * 1000) },
    spec: { ...t.spec!, ...(o.unbound ? {} : { nodeName }) },
    status: { phase: o.phase ?? 'Running', conditions: o.ready === false ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: iso(NOW - 30_000) }] },
  };
  if (o.deleting) p.metadata.deletionTimestamp = iso(NOW);
  return p;
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);
const three = [node('n1'), node('n2'), node('n3')];

describe('daemon pods', () => {
  it('carry the daemon tolerations, the revision hash and generation labels, and a node affinity on metadata.name', () => {
    const t = templateForNode(daemonPodTemplate(ds(), HASH), 'n2');
    expect(t.metadata?.labels).toEqual({ app: 'agent', 'controller-revision-hash': HASH, 'pod-template-generation': '2' });
    expect(t.spec?.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(t.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] });
    expect(t.spec?.nodeName).toBeUndefined();
    expect(targetNodeName({ metadata: {}, spec: t.spec! })).toBe('n2');
  });

  it('replace a not-ready toleration with tolerationSeconds by the one without, and add network-unavailable with hostNetwork', () => {
    const d = ds({ template: { spec: { hostNetwork: true, containers: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] } } });
    const tol = daemonPodTemplate(d, HASH).spec!.tolerations!;
    expect(tol.filter((t) => t.key === 'node.kubernetes.io/not-ready')).toEqual([{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]);
    expect(tol).toContainEqual({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  });

  it("keep the template's preferred node affinity but replace its required terms", () => {
    const t = templateForNode({ spec: { containers: [], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] }, preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'b', operator: 'Exists' }] } }] } } } }, 'n1');
    expect(t.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]);
    expect(t.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });
});

describe('which nodes run a daemon pod', () => {
  const cases: [string, Node, DaemonSet, { shouldRun: boolean; shouldContinueRunning: boolean }][] = [
    ['a plain node', node('a'), ds(), { shouldRun: true, shouldContinueRunning: true }],
    ['a node the nodeSelector does not match', node('a'), ds({ template: { spec: { containers: [], nodeSelector: { disk: 'ssd' } } } }), { shouldRun: false, shouldContinueRunning: false }],
    ['a node the nodeSelector matches', node('a', { labels: { disk: 'ssd' } }), ds({ template: { spec: { containers: [], nodeSelector: { disk: 'ssd' } } } }), { shouldRun: true, shouldContinueRunning: true }],
    ['a node with an untolerated NoSchedule taint: no new pod, an old one stays', node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), ds(), { shouldRun: false, shouldContinueRunning: true }],
    ['a node with an untolerated NoExecute taint', node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }), ds(), { shouldRun: false, shouldContinueRunning: false }],
    ['a tainted node the pod tolerates', node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), ds({ template: { spec: { containers: [], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] } } }), { shouldRun: true, shouldContinueRunning: true }],
    ['a PreferNoSchedule taint', node('a', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), ds(), { shouldRun: true, shouldContinueRunning: true }],
    ['a cordoned, not-ready, unreachable node under pressure (the daemon tolerations)', node('a', { taints: [
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/pid-pressure', effect: 'NoSchedule' },
    ] }), ds(), { shouldRun: true, shouldContinueRunning: true }],
    ['a node whose network is unavailable, without hostNetwork', node('a', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }), ds(), { shouldRun: false, shouldContinueRunning: true }],
    ['a template naming another node', node('a'), ds({ template: { spec: { containers: [], nodeName: 'b' } } }), { shouldRun: false, shouldContinueRunning: false }],
  ];
  it.each(cases)('%s', (_what, nd, d, want) => {
    expect(nodeShouldRunDaemonPod(nd, d)).toEqual(want);
  });
});

describe('daemon set planning', () => {
  it('creates one pod per eligible node, none where the taint is not tolerated', () => {
    const nodes = [...three, node('n4', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })];
    const plan = planDaemonSet({ ds: ds(), nodes, pods: [], hash: HASH, nowMs: NOW });
    expect(plan).toMatchObject({ createOn: ['n1', 'n2', 'n3'], deletePods: [], orphaned: [], reason: 'manage' });
  });

  it('counts a pod waiting for the scheduler as its node\'s, and creates nothing more', () => {
    const pods = [pod('n1'), pod('n2', { unbound: true, ready: false, phase: 'Pending' }), pod('n3')];
    expect(planDaemonSet({ ds: ds(), nodes: three, pods, hash: HASH, nowMs: NOW })).toMatchObject({ createOn: [], deletePods: [], reason: 'none' });
  });

  it('gives a new node its pod and waits for a terminating one to go', () => {
    const pods = [pod('n1'), pod('n2', { deleting: true })];
    expect(planDaemonSet({ ds: ds(), nodes: three, pods, hash: HASH, nowMs: NOW }).createOn).toEqual(['n3']);
  });

  it('deletes the pods of a node that is gone: at once if bound (no kubelet will finish it), gracefully if still unbound', () => {
    const bound = pod('gone');
    const unbound = pod('gone2', { unbound: true, phase: 'Pending', ready: false });
    const plan = planDaemonSet({ ds: ds(), nodes: three, pods: [pod('n1'), pod('n2'), pod('n3'), bound, unbound], hash: HASH, nowMs: NOW });
    expect(names(plan.orphaned)).toEqual([bound.metadata.name]);
    expect(names(plan.deletePods)).toEqual([unbound.metadata.name]);
  });

  it('deletes pods of nodes that no longer fit (label removed, NoExecute taint) but keeps one under a new NoSchedule taint', () => {
    const d = ds({ template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [], nodeSelector: { role: 'edge' } } } });
    const nodes = [node('n1', { labels: { role: 'edge' } }), node('n2'), node('n3', { labels: { role: 'edge' }, taints: [{ key: 'k', effect: 'NoExecute' }] }), node('n4', { labels: { role: 'edge' }, taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    const [p1, p2, p3, p4] = [pod('n1'), pod('n2'), pod('n3'), pod('n4')];
    const plan = planDaemonSet({ ds: d, nodes, pods: [p1!, p2!, p3!, p4!], hash: HASH, nowMs: NOW });
    expect(names(plan.deletePods)).toEqual(names([p2!, p3!]));
  });

  it('deletes a failed pod (recorded as failed) and the younger of two pods on one node', () => {
    const failed = pod('n1', { phase: 'Failed', ready: false });
    const old = pod('n2', { ageS: 100 });
    const young = pod('n2', { ageS: 10 });
    const plan = planDaemonSet({ ds: ds(), nodes: three, pods: [failed, old, young, pod('n3')], hash: HASH, nowMs: NOW });
    expect(names(plan.deletePods)).toEqual(names([failed, young]));
    expect(names(plan.failed)).toEqual(names([failed]));
    expect(plan.createOn).toEqual([]);
  });
});

describe('daemon set rolling update', () => {
  it('deletes at most maxUnavailable old pods at a time, and only when manage has nothing to do', () => {
    const pods = three.map((nd) => pod(nd.metadata.name!, { hash: 'old' }));
    const plan = planDaemonSet({ ds: ds(), nodes: three, pods, hash: HASH, nowMs: NOW });
    expect(plan.reason).toBe('rollingUpdate');
    expect(names(plan.deletePods)).toEqual(names([pods[0]!]));
    const two = planDaemonSet({ ds: ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } } }), nodes: three, pods, hash: HASH, nowMs: NOW });
    expect(names(two.deletePods)).toEqual(names([pods[0]!, pods[1]!]));
  });

  it('waits while a new pod is not available yet, and replaces an unavailable old pod at once', () => {
    const waiting = [pod('n1', { ready: false }), pod('n2', { hash: 'old' }), pod('n3', { hash: 'old' })];
    expect(planDaemonSet({ ds: ds(), nodes: three, pods: waiting, hash: HASH, nowMs: NOW }).reason).toBe('none');
    const broken = [pod('n1', { ready: false }), pod('n2', { hash: 'old', ready: false }), pod('n3', { hash: 'old' })];
    expect(names(planDaemonSet({ ds: ds(), nodes: three, pods: broken, hash: HASH, nowMs: NOW }).deletePods)).toEqual(names([broken[1]!]));
  });

  it('does nothing with OnDelete', () => {
    const pods = three.map((nd) => pod(nd.metadata.name!, { hash: 'old' }));
    expect(planDaemonSet({ ds: ds({ updateStrategy: { type: 'OnDelete' } }), nodes: three, pods, hash: HASH, nowMs: NOW }).reason).toBe('none');
  });

  it('scales maxUnavailable percentages up over the desired nodes, and never to 0', () => {
    expect(maxUnavailable(ds(), 10)).toBe(1);
    expect(maxUnavailable(ds({ updateStrategy: { rollingUpdate: { maxUnavailable: '25%' } } }), 10)).toBe(3);
    expect(maxUnavailable(ds({ updateStrategy: { rollingUpdate: { maxUnavailable: 0 } } }), 10)).toBe(1);
  });
});

describe('daemon set status', () => {
  it('counts desired, scheduled, ready, updated, available and misscheduled nodes', () => {
    const d = ds({ template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [], nodeSelector: { role: 'edge' } } } });
    const nodes = [node('n1', { labels: { role: 'edge' } }), node('n2', { labels: { role: 'edge' } }), node('n3', { labels: { role: 'edge' } }), node('n4')];
    const pods = [pod('n1'), pod('n2', { hash: 'old' }), pod('n3', { ready: false, unbound: true, phase: 'Pending' }), pod('n4')];
    expect(calculateDaemonStatus({ ds: d, nodes, pods, hash: HASH, nowMs: NOW })).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 2,
      numberAvailable: 2,
      numberUnavailable: 1,
      updatedNumberScheduled: 2,
      numberMisscheduled: 1,
      observedGeneration: 2,
    });
  });
});
