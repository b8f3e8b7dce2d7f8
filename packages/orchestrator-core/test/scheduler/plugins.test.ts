import type { Pod, Toleration } from '@pilot/api';
import { Code, CycleState, Status } from '../../src/scheduler/framework.js';
import { Snapshot, podRequests } from '../../src/scheduler/node-info.js';
import { nodeAffinity } from '../../src/scheduler/plugins/node-affinity.js';
import { nodeName } from '../../src/scheduler/plugins/node-name.js';
import { nodePorts } from '../../src/scheduler/plugins/node-ports.js';
import { balancedAllocationScore, leastAllocatedScore, nodeResourcesFit } from '../../src/scheduler/plugins/node-resources-fit.js';
import { nodeUnschedulable } from '../../src/scheduler/plugins/node-unschedulable.js';
import { taintToleration } from '../../src/scheduler/plugins/taint-toleration.js';
import { imageLocality, normalizedImageName } from '../../src/scheduler/plugins/image-locality.js';
import { defaultSelector, podTopologySpread } from '../../src/scheduler/plugins/pod-topology-spread.js';
import type { Plugin } from '../../src/scheduler/framework.js';
import { node, nodeInfo, pod } from './fixtures.js';

/** Runs a plugin's PreFilter (if any) and Filter like the framework does. */
function filter(p: Plugin, po: Pod, ni: ReturnType<typeof nodeInfo>): Status {
  const state = new CycleState();
  const snap = Snapshot.of([ni]);
  const pre = p.preFilter?.(state, po, snap);
  if (pre && pre.code === Code.Skip) return Status.SUCCESS;
  return p.filter!(state, po, ni, snap);
}

const summary = (s: Status) => (s.isSuccess() ? 'ok' : `${s.code}: ${s.reasons.join(' | ')}`);

describe('filters answer with upstream codes and reason strings', () => {
  const cases: [string, Plugin, Pod, ReturnType<typeof nodeInfo>, string][] = [
    ['NodeUnschedulable: cordoned node', nodeUnschedulable, pod('p'), nodeInfo(node('n', { unschedulable: true })), "UnschedulableAndUnresolvable: node(s) were unschedulable"],
    [
      'NodeUnschedulable: tolerated',
      nodeUnschedulable,
      pod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } }),
      nodeInfo(node('n', { unschedulable: true })),
      'ok',
    ],
    ['NodeName: other node', nodeName, pod('p', { nodeName: 'm' }), nodeInfo(node('n')), "UnschedulableAndUnresolvable: node(s) didn't match the requested node name"],
    ['NodeName: this node', nodeName, pod('p', { nodeName: 'n' }), nodeInfo(node('n')), 'ok'],
    [
      'TaintToleration: NoSchedule untolerated',
      taintToleration,
      pod('p'),
      nodeInfo(node('n', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] })),
      'UnschedulableAndUnresolvable: node(s) had untolerated taint {dedicated: infra}',
    ],
    [
      'TaintToleration: NoExecute without value',
      taintToleration,
      pod('p'),
      nodeInfo(node('n', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] })),
      'UnschedulableAndUnresolvable: node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    ],
    [
      'TaintToleration: PreferNoSchedule never filters',
      taintToleration,
      pod('p'),
      nodeInfo(node('n', { taints: [{ key: 'a', value: 'b', effect: 'PreferNoSchedule' }] })),
      'ok',
    ],
    [
      'TaintToleration: Equal toleration',
      taintToleration,
      pod('p', { spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] } }),
      nodeInfo(node('n', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] })),
      'ok',
    ],
    [
      'TaintToleration: wrong value',
      taintToleration,
      pod('p', { spec: { tolerations: [{ key: 'dedicated', value: 'web' }] } }),
      nodeInfo(node('n', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] })),
      'UnschedulableAndUnresolvable: node(s) had untolerated taint {dedicated: infra}',
    ],
    [
      'TaintToleration: Exists with empty key tolerates everything',
      taintToleration,
      pod('p', { spec: { tolerations: [{ operator: 'Exists' }] } }),
      nodeInfo(node('n', { taints: [{ key: 'x', value: 'y', effect: 'NoExecute' }] })),
      'ok',
    ],
    [
      'NodeAffinity: nodeSelector mismatch',
      nodeAffinity,
      pod('p', { spec: { nodeSelector: { disk: 'ssd' } } }),
      nodeInfo(node('n', { labels: { disk: 'hdd' } })),
      "UnschedulableAndUnresolvable: node(s) didn't match Pod's node affinity/selector",
    ],
    ['NodeAffinity: nodeSelector match', nodeAffinity, pod('p', { spec: { nodeSelector: { disk: 'ssd' } } }), nodeInfo(node('n', { labels: { disk: 'ssd' } })), 'ok'],
    ['NodePorts: conflict', nodePorts, podWithPort('p', 8080), nodeInfo(node('n'), [podWithPort('q', 8080, 'n')]), "Unschedulable: node(s) didn't have free ports for the requested pod ports"],
    ['NodePorts: other protocol', nodePorts, podWithPort('p', 8080, undefined, 'UDP'), nodeInfo(node('n'), [podWithPort('q', 8080, 'n')]), 'ok'],
    ['NodePorts: distinct addresses', nodePorts, podWithPort('p', 80, undefined, 'TCP', '10.0.0.1'), nodeInfo(node('n'), [podWithPort('q', 80, 'n', 'TCP', '10.0.0.2')]), 'ok'],
    ['NodePorts: wildcard against an address', nodePorts, podWithPort('p', 80), nodeInfo(node('n'), [podWithPort('q', 80, 'n', 'TCP', '10.0.0.2')]), "Unschedulable: node(s) didn't have free ports for the requested pod ports"],
    ['NodeResourcesFit: cpu', nodeResourcesFit, pod('p', { cpu: '3' }), nodeInfo(node('n', { cpu: '4' }), [pod('q', { cpu: '2', nodeName: 'n' })]), 'Unschedulable: Insufficient cpu'],
    [
      'NodeResourcesFit: cpu and memory are two reasons',
      nodeResourcesFit,
      pod('p', { cpu: '5', memory: '9Gi' }),
      nodeInfo(node('n', { cpu: '4', memory: '8Gi' })),
      'Unschedulable: Insufficient cpu | Insufficient memory',
    ],
    ['NodeResourcesFit: exactly full fits', nodeResourcesFit, pod('p', { cpu: '2' }), nodeInfo(node('n', { cpu: '4' }), [pod('q', { cpu: '2', nodeName: 'n' })]), 'ok'],
    ['NodeResourcesFit: pod count', nodeResourcesFit, pod('p'), nodeInfo(node('n', { pods: '1' }), [pod('q', { nodeName: 'n' })]), 'Unschedulable: Too many pods'],
    ['NodeResourcesFit: no requests needs only a slot', nodeResourcesFit, pod('p'), nodeInfo(node('n', { cpu: '0', memory: '0' })), 'ok'],
  ];
  it.each(cases)('%s', (_name, plugin, p, ni, want) => {
    expect(summary(filter(plugin, p, ni))).toBe(want);
  });
});

function podWithPort(name: string, hostPort: number, nodeName?: string, protocol = 'TCP', hostIP?: string): Pod {
  return pod(name, {
    ...(nodeName ? { nodeName } : {}),
    containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort, protocol, ...(hostIP ? { hostIP } : {}) }] }],
  });
}

describe('required node affinity: every operator', () => {
  const n = node('n1', { labels: { zone: 'a', gen: '5', disk: 'ssd' } });
  type Req = { key: string; operator: string; values?: readonly string[] };
  const fits = (exprs: readonly Req[], fields: readonly Req[] = []) =>
    filter(
      nodeAffinity,
      pod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs.map((e) => ({ ...e, values: e.values ? [...e.values] : [] })), matchFields: fields.map((e) => ({ ...e, values: e.values ? [...e.values] : [] })) }] } } } } }),
      nodeInfo(n),
    ).isSuccess();
  it.each([
    ['In', [{ key: 'zone', operator: 'In', values: ['a', 'b'] }], true],
    ['In, other values', [{ key: 'zone', operator: 'In', values: ['b'] }], false],
    ['NotIn', [{ key: 'zone', operator: 'NotIn', values: ['b'] }], true],
    ['NotIn on a missing label', [{ key: 'rack', operator: 'NotIn', values: ['b'] }], true],
    ['Exists', [{ key: 'disk', operator: 'Exists' }], true],
    ['DoesNotExist', [{ key: 'disk', operator: 'DoesNotExist' }], false],
    ['Gt', [{ key: 'gen', operator: 'Gt', values: ['4'] }], true],
    ['Gt equal', [{ key: 'gen', operator: 'Gt', values: ['5'] }], false],
    ['Lt', [{ key: 'gen', operator: 'Lt', values: ['6'] }], true],
    ['Lt on a non-integer label', [{ key: 'zone', operator: 'Lt', values: ['6'] }], false],
    ['expressions are ANDed', [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['hdd'] }], false],
  ] as const)('%s', (_n, exprs, want) => {
    expect(fits(exprs)).toBe(want);
  });
  it('matchFields metadata.name In/NotIn', () => {
    expect(fits([], [{ key: 'metadata.name', operator: 'In', values: ['n1'] }])).toBe(true);
    expect(fits([], [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }])).toBe(false);
  });
  it('an empty term matches nothing, terms are ORed', () => {
    const withTerms = (terms: object[]) =>
      filter(nodeAffinity, pod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } } }), nodeInfo(n)).isSuccess();
    expect(withTerms([{}])).toBe(false);
    expect(withTerms([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }])).toBe(true);
  });
  it('nodeSelector and affinity must both match', () => {
    const p = pod('p', {
      spec: { nodeSelector: { disk: 'hdd' }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } } },
    });
    expect(filter(nodeAffinity, p, nodeInfo(n)).isSuccess()).toBe(false);
  });
});

describe('pod requests (resourcehelper.PodRequests)', () => {
  it('app containers add up; the largest init container raises it; overhead adds', () => {
    const p = pod('p', {
      containers: [
        { name: 'a', image: 'x', resources: { requests: { cpu: '100m', memory: '100Mi' } } },
        { name: 'b', image: 'x', resources: { requests: { cpu: '200m', memory: '50Mi' } } },
      ],
      spec: {
        initContainers: [
          { name: 'i1', image: 'x', resources: { requests: { cpu: '500m', memory: '10Mi' } } },
          { name: 'i2', image: 'x', resources: { requests: { cpu: '100m', memory: '1Gi' } } },
        ],
        overhead: { cpu: '10m' },
      },
    });
    expect(podRequests(p)).toEqual({ milliCPU: 510, memory: 1024 * 1024 * 1024 });
  });
  it('sidecars (restartPolicy Always) run beside the app containers', () => {
    const p = pod('p', {
      containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '100m' } } }],
      spec: {
        initContainers: [
          { name: 's', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
          { name: 'i', image: 'x', resources: { requests: { cpu: '120m' } } },
        ],
      },
    });
    // init phase: 50 (sidecar) + 120 = 170; run phase: 100 + 50 = 150.
    expect(podRequests(p).milliCPU).toBe(170);
  });
  it('missing requests count as 100m / 200Mi for scoring, explicit zeros stay zero', () => {
    const p = pod('p', { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x', resources: { requests: { cpu: '0' } } }] });
    expect(podRequests(p, { milliCPU: 100, memory: 200 * 1024 * 1024 })).toEqual({ milliCPU: 100, memory: 400 * 1024 * 1024 });
    expect(podRequests(p)).toEqual({ milliCPU: 0, memory: 0 });
  });
});

describe('scores', () => {
  const req = (cpu: number, mem: number) => ({ milliCPU: cpu, memory: mem });
  it('LeastAllocated: the mean free share of cpu and memory after placing the pod', () => {
    // cpu (4000-1000)/4000 = 75, memory (10000-5000)/10000 = 50 → 62.
    const ni = nodeInfo(node('n', { cpu: '4', memory: '10000' }));
    expect(leastAllocatedScore(req(1000, 5000), ni)).toBe(62);
    expect(leastAllocatedScore(req(5000, 0), ni)).toBe(50);
  });
  it('LeastAllocated counts pods without requests at 100m / 200Mi', () => {
    const empty = nodeInfo(node('a', { cpu: '1', memory: '1Gi' }));
    const busy = nodeInfo(node('b', { cpu: '1', memory: '1Gi' }), [pod('q', { nodeName: 'b' })]);
    expect(leastAllocatedScore(req(100, 200 * 1024 * 1024), empty)).toBeGreaterThan(leastAllocatedScore(req(100, 200 * 1024 * 1024), busy));
  });
  it('BalancedAllocation: 100 × (1 − |cpu fraction − memory fraction| / 2)', () => {
    const ni = nodeInfo(node('n', { cpu: '4', memory: '10000' }));
    // fractions 0.5 and 0.1 → std 0.2 → 80.
    expect(balancedAllocationScore(req(2000, 1000), ni)).toBe(80);
    expect(balancedAllocationScore(req(2000, 5000), ni)).toBe(100);
  });
  it('TaintToleration: fewer untolerated PreferNoSchedule taints score higher (reversed, normalised)', () => {
    const a = nodeInfo(node('a'));
    const b = nodeInfo(node('b', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }));
    const c = nodeInfo(node('c', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }, { key: 'y', effect: 'PreferNoSchedule' }] }));
    expect(scores(taintToleration, pod('p'), [a, b, c])).toEqual([100, 50, 0]);
    const tolerant = pod('p', { spec: { tolerations: [{ key: 'x', operator: 'Exists' } as Toleration] } });
    expect(scores(taintToleration, tolerant, [a, b, c])).toEqual([100, 100, 0]);
  });
  it('NodeAffinity: sum of matching preferred weights, normalised by the best', () => {
    const p = pod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
              { weight: 30, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            ],
          },
        },
      },
    });
    const ns = [nodeInfo(node('a', { labels: { disk: 'ssd', zone: 'a' } })), nodeInfo(node('b', { labels: { zone: 'a' } })), nodeInfo(node('c', { labels: { disk: 'ssd' } })), nodeInfo(node('d'))];
    expect(scores(nodeAffinity, p, ns)).toEqual([100, 75, 25, 0]);
  });
  it('ImageLocality: image size times the share of nodes holding it, 23 MB..1000 MB per container', () => {
    const mb = 1024 * 1024;
    const img = { names: ['docker.io/library/web:1'], sizeBytes: 500 * mb };
    const ns = [nodeInfo(node('a', { images: [img] })), nodeInfo(node('b'))];
    for (const ni of ns) ni.imageStates = new Map();
    ns[0]!.imageStates.set('docker.io/library/web:1', { size: 500 * mb, numNodes: 1 });
    const p = pod('p', { containers: [{ name: 'c', image: 'docker.io/library/web:1' }] });
    // 500 MB × 1/2 nodes = 250 MB → 100 × (250 − 23) / (1000 − 23) = 23.
    expect(scores(imageLocality, p, ns)).toEqual([23, 0]);
    expect(normalizedImageName('busybox')).toBe('busybox:latest');
    expect(normalizedImageName('reg:5000/busybox')).toBe('reg:5000/busybox:latest');
    expect(normalizedImageName('busybox:1.36')).toBe('busybox:1.36');
  });
});

/** PreScore + Score + NormalizeScore of one plugin over nodes. */
function scores(p: Plugin, po: Pod, nis: ReturnType<typeof nodeInfo>[]): number[] {
  const state = new CycleState();
  const snap = Snapshot.of(nis);
  const pre = p.preScore?.(state, po, nis, snap);
  if (pre?.code === Code.Skip) return nis.map(() => 0);
  const s = nis.map((ni) => ({ name: ni.name, score: p.score!(state, po, ni, snap) }));
  p.normalizeScore?.(state, po, s);
  return s.map((x) => x.score);
}

describe('PodTopologySpread system default', () => {
  const rcOwner = { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'rc-1', controller: true };
  const listers = {
    services: () => [{ metadata: { name: 'web-svc', namespace: 'default' }, spec: { selector: { app: 'web' } } }],
    replicationController: (_ns: string, name: string) => (name === 'web' ? { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web', tier: 'fe' } } } : undefined),
  };
  const member = (name: string, nodeName?: string) => {
    const p = pod(name, { labels: { app: 'web', tier: 'fe' }, ...(nodeName ? { nodeName } : {}) });
    p.metadata.ownerReferences = [rcOwner];
    return p;
  };
  it('the selector is the union of the selecting Services and the controlling RC', () => {
    expect(defaultSelector(member('p'), listers).toString()).toBe('app=web,tier=fe');
    expect(defaultSelector(pod('lonely', { labels: { app: 'other' } }), listers).isEmpty()).toBe(true);
  });
  it('a pod that belongs to nothing is not scored (Skip)', () => {
    const state = new CycleState();
    const nis = [nodeInfo(node('a'))];
    expect(podTopologySpread(listers).preScore!(state, pod('lonely'), nis, Snapshot.of(nis)).code).toBe(Code.Skip);
  });
  it('nodes with fewer matching pods score higher; other namespaces and terminating pods do not count', () => {
    const gone = member('gone', 'a');
    gone.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const elsewhere = member('x', 'a');
    elsewhere.metadata.namespace = 'other';
    const a = nodeInfo(node('a'), [member('m1', 'a'), member('m2', 'a'), gone, elsewhere]);
    const b = nodeInfo(node('b'), [member('m3', 'b')]);
    const c = nodeInfo(node('c'));
    // raw: a = round(2·ln5 + 2) = 5, b = round(ln5 + 2) = 4, c = 2 → 100·(5+2−s)/5.
    expect(scores(podTopologySpread(listers), member('new'), [a, b, c])).toEqual([40, 60, 100]);
  });
});
