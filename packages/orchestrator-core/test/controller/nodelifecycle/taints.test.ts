import type { Node, NodeCondition, Taint } from '@pilot/api';
import { noExecuteTaintsFor, noScheduleTaintsFor, planNodeTaints, swapTaints } from '../../../src/controller/nodelifecycle/taints.js';

const NOW = '2026-12-02T10:00:00Z';
const node = (conditions: Partial<NodeCondition>[], taints?: Taint[], unschedulable?: boolean): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1' },
  spec: { ...(taints ? { taints } : {}), ...(unschedulable ? { unschedulable } : {}) },
  status: { conditions: conditions as NodeCondition[] },
});
const unreachable = (effect = 'NoExecute'): Taint => ({ key: 'node.kubernetes.io/unreachable', effect });
const notReady = (effect = 'NoExecute'): Taint => ({ key: 'node.kubernetes.io/not-ready', effect });

describe('NoExecute taints follow the Ready condition', () => {
  it.each([
    ['False', { add: [notReady()], remove: [unreachable()] }],
    ['Unknown', { add: [unreachable()], remove: [notReady()] }],
    ['True', { add: [], remove: [notReady(), unreachable()] }],
    [undefined, undefined],
  ])('Ready=%s → %j', (status, want) => {
    expect(noExecuteTaintsFor(status)).toEqual(want);
  });
});

describe('NoSchedule taints follow the conditions and spec.unschedulable (TaintNodesByCondition)', () => {
  it.each<[string, Node, { add: string[]; remove: string[] }]>([
    ['a Ready node without pressure has none', node([{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'False' }]), { add: [], remove: [] }],
    ['Ready=False → not-ready', node([{ type: 'Ready', status: 'False' }]), { add: ['node.kubernetes.io/not-ready'], remove: [] }],
    ['Ready=Unknown → unreachable, replacing not-ready', node([{ type: 'Ready', status: 'Unknown' }], [notReady('NoSchedule')]), { add: ['node.kubernetes.io/unreachable'], remove: ['node.kubernetes.io/not-ready'] }],
    ['pressure conditions and NetworkUnavailable while True', node([{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'True' }, { type: 'DiskPressure', status: 'True' }, { type: 'PIDPressure', status: 'True' }, { type: 'NetworkUnavailable', status: 'True' }]), { add: ['node.kubernetes.io/memory-pressure', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/pid-pressure', 'node.kubernetes.io/network-unavailable'], remove: [] }],
    ['cordoned → unschedulable', node([{ type: 'Ready', status: 'True' }], [], true), { add: ['node.kubernetes.io/unschedulable'], remove: [] }],
    ['uncordoned and Ready again → both go', node([{ type: 'Ready', status: 'True' }], [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, unreachable('NoSchedule')]), { add: [], remove: ['node.kubernetes.io/unschedulable', 'node.kubernetes.io/unreachable'] }],
    ["someone else's NoSchedule taint and the NoExecute ones are not its business", node([{ type: 'Ready', status: 'True' }], [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }, unreachable()]), { add: [], remove: [] }],
  ])('%s', (_name, n, want) => {
    const got = noScheduleTaintsFor(n);
    expect({ add: got.add.map((t) => t.key), remove: got.remove.map((t) => t.key) }).toEqual(want);
    for (const t of [...got.add, ...got.remove]) expect(t.effect).toBe('NoSchedule');
  });
});

describe('swapTaints', () => {
  it('adds with timeAdded, removes by key and effect, keeps the rest in order', () => {
    const other: Taint = { key: 'dedicated', value: 'infra', effect: 'NoExecute' };
    expect(swapTaints([other, notReady()], [unreachable()], [notReady()], NOW)).toEqual([other, { ...unreachable(), timeAdded: NOW }]);
  });
  it('answers undefined when nothing changes (no write)', () => {
    expect(swapTaints([{ ...unreachable(), timeAdded: 'earlier' }], [unreachable()], [notReady()], NOW)).toBeUndefined();
    expect(swapTaints(undefined, [], [notReady()], NOW)).toBeUndefined();
  });
  it('a taint of the same key with another effect is another taint', () => {
    expect(swapTaints([unreachable('NoSchedule')], [unreachable()], [], NOW)).toEqual([unreachable('NoSchedule'), { ...unreachable(), timeAdded: NOW }]);
  });
});

describe('planNodeTaints', () => {
  it('a silent node gets unreachable NoSchedule and NoExecute in one change', () => {
    expect(planNodeTaints(node([{ type: 'Ready', status: 'Unknown' }]), NOW)).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: NOW },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: NOW },
    ]);
  });
  it('a node back to Ready loses both', () => {
    expect(planNodeTaints(node([{ type: 'Ready', status: 'True' }], [unreachable('NoSchedule'), unreachable()]), NOW)).toEqual([]);
  });
});
