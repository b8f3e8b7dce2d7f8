import type { Taint, Toleration } from '@pilot/api';
import { planPodEviction } from '../../../src/controller/taint-eviction/plan.js';

const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-12-02T10:00:00Z' };
const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
const dedicated: Taint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };
const defaults: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];
const START = 1_000_000;

describe('planPodEviction (the NoExecute taint manager)', () => {
  it.each<[string, Toleration[] | undefined, Taint[] | undefined, ReturnType<typeof planPodEviction>]>([
    ['a node without taints keeps its pods', defaults, undefined, { kind: 'keep' }],
    ['NoSchedule taints never evict', [], [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }], { kind: 'keep' }],
    ['a pod without tolerations goes at once', undefined, [unreachable], { kind: 'now' }],
    ['the default tolerations: 300 s after the eviction was scheduled', defaults, [unreachable], { kind: 'at', atMs: START + 300_000 }],
    ['a short toleration: 3 s', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 }], [unreachable], { kind: 'at', atMs: START + 3_000 }],
    ['tolerated forever (no tolerationSeconds): stays', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }], [unreachable], { kind: 'keep' }],
    ['an empty key with Exists tolerates everything, forever', [{ operator: 'Exists' }], [unreachable, dedicated], { kind: 'keep' }],
    ['one taint not tolerated is enough to go now', defaults, [unreachable, dedicated], { kind: 'now' }],
    ['the shortest bound of the matching tolerations wins', [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute', tolerationSeconds: 10 }, ...defaults], [unreachable, dedicated], { kind: 'at', atMs: START + 10_000 }],
    ['a bounded and an unbounded toleration: the bound counts', [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }, ...defaults], [notReady, dedicated], { kind: 'at', atMs: START + 300_000 }],
    ['tolerationSeconds 0 or less: now', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }], [unreachable], { kind: 'now' }],
    ['only the first matching toleration of a taint counts (upstream)', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 5 }, { operator: 'Exists' }], [unreachable], { kind: 'at', atMs: START + 5_000 }],
    ['a value mismatch is no toleration', [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoExecute' }], [dedicated], { kind: 'now' }],
  ])('%s', (_name, tolerations, taints, want) => {
    expect(planPodEviction(tolerations, taints, START)).toEqual(want);
  });
});
