import type { Lease, Node, NodeCondition } from '@pilot/api';
import { assessNodeHealth, observeNodeHealth, type NodeHealth } from '../../../src/controller/nodelifecycle/health.js';

const T0 = Date.parse('2026-12-02T10:00:00Z');
const s = (n: number) => T0 + n * 1000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const micro = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const grace = { monitorMs: 50_000, startupMs: 60_000 };

function node(conditions?: NodeCondition[], created = T0): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', creationTimestamp: iso(created) }, status: conditions ? { conditions } : {} };
}
const ready = (status: NodeCondition['status'], beat: number, transition = T0): NodeCondition => ({ type: 'Ready', status, reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: iso(beat), lastTransitionTime: iso(transition) });
const lease = (renew: number): Lease => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: micro(renew) } });

describe('observeNodeHealth: when the controller last saw the kubelet alive, on its own clock', () => {
  it.each<[string, NodeHealth | undefined, Node, Lease | undefined, number, number]>([
    ['a node seen for the first time with a Ready condition gets a full grace period from now', undefined, node([ready('True', s(-500))]), undefined, s(10), s(10)],
    ['a node that never posted Ready counts from its creation (the startup grace period)', undefined, node(undefined, s(-5)), undefined, s(10), s(-5)],
    ['a node created "in the future" (skewed clock) counts from now', undefined, node(undefined, s(100)), undefined, s(10), s(10)],
    ['a new Ready heartbeat is a sign of life', { probeTimestamp: s(0), readyTransitionTimestamp: s(0), ready: { status: 'True', lastHeartbeatTime: iso(s(0)) } }, node([ready('True', s(10))]), undefined, s(12), s(12)],
    ['the same heartbeat is none', { probeTimestamp: s(0), readyTransitionTimestamp: s(0), ready: { status: 'True', lastHeartbeatTime: iso(s(0)) } }, node([ready('True', s(0))]), undefined, s(30), s(0)],
    ['a renewed Lease is a sign of life even when the status is old', { probeTimestamp: s(0), readyTransitionTimestamp: s(0), ready: { status: 'True', lastHeartbeatTime: iso(s(0)) }, leaseRenewTime: micro(s(0)) }, node([ready('True', s(0))]), lease(s(20)), s(21), s(21)],
    ['a Lease not renewed since is none', { probeTimestamp: s(0), readyTransitionTimestamp: s(0), ready: { status: 'True', lastHeartbeatTime: iso(s(0)) }, leaseRenewTime: micro(s(0)) }, node([ready('True', s(0))]), lease(s(0)), s(60), s(0)],
    ['a Lease renewed "in the past" (an older renewTime) is none', { probeTimestamp: s(5), readyTransitionTimestamp: s(0), ready: { status: 'True', lastHeartbeatTime: iso(s(0)) }, leaseRenewTime: micro(s(5)) }, node([ready('True', s(0))]), lease(s(1)), s(60), s(5)],
  ])('%s', (_name, saved, n, l, now, probe) => {
    expect(observeNodeHealth(saved, n, l, now).probeTimestamp).toBe(probe);
  });

  it('notes a Ready transition on its own clock, and keeps it while only the heartbeat moves', () => {
    let h = observeNodeHealth(undefined, node([ready('True', s(0))]), undefined, s(1));
    h = observeNodeHealth(h, node([ready('False', s(10), s(10))]), undefined, s(11));
    expect(h.readyTransitionTimestamp).toBe(s(11));
    h = observeNodeHealth(h, node([ready('False', s(20), s(10))]), undefined, s(21));
    expect(h).toMatchObject({ probeTimestamp: s(21), readyTransitionTimestamp: s(11) });
  });
});

describe('assessNodeHealth: a node silent past the grace period turns Unknown', () => {
  const nowIso = iso(s(61));
  const alive: NodeHealth = { probeTimestamp: s(11), readyTransitionTimestamp: s(0) };
  const silent: NodeHealth = { probeTimestamp: s(10), readyTransitionTimestamp: s(0) };

  it('within the grace period nothing changes', () => {
    const v = assessNodeHealth(node([ready('True', s(10))]), alive, s(61), nowIso, grace);
    expect(v).toMatchObject({ silent: false, gracePeriodMs: 50_000 });
    expect(v.conditions).toBeUndefined();
  });

  it('past it every kubelet condition turns Unknown with NodeStatusUnknown; NetworkUnavailable is left alone', () => {
    const n = node([
      ready('True', s(10)),
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: iso(s(10)), lastTransitionTime: iso(s(0)) },
      { type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated', lastTransitionTime: iso(s(0)) },
    ]);
    const v = assessNodeHealth(n, silent, s(61), nowIso, grace);
    expect(v.silent).toBe(true);
    const unknown = { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: nowIso };
    expect(v.conditions).toEqual([
      { ...n.status!.conditions![0], ...unknown },
      { ...n.status!.conditions![1], ...unknown },
      n.status!.conditions![2],
      { type: 'DiskPressure', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: iso(T0), lastTransitionTime: nowIso },
      { type: 'PIDPressure', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: iso(T0), lastTransitionTime: nowIso },
    ]);
    // The heartbeat stays the kubelet's: the controller's write is no sign of life.
    expect(v.conditions![0]!.lastHeartbeatTime).toBe(iso(s(10)));
    expect(v).toMatchObject({ observedReady: { status: 'True' }, currentReady: { status: 'Unknown' } });
  });

  it('a node already Unknown is not written again', () => {
    const n = node([{ ...ready('Unknown', s(10), s(61)), reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }]);
    const v = assessNodeHealth({ ...n, status: { conditions: [...n.status!.conditions!, ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'Unknown' as const }))] } }, silent, s(90), iso(s(90)), grace);
    expect(v.silent).toBe(true);
    expect(v.conditions).toBeUndefined();
  });

  it('a node that never posted Ready gets the startup grace period, then NodeStatusNeverUpdated', () => {
    const n = node(undefined);
    const h = observeNodeHealth(undefined, n, undefined, s(55));
    expect(assessNodeHealth(n, h, s(55), iso(s(55)), grace)).toMatchObject({ silent: false, gracePeriodMs: 60_000 });
    const v = assessNodeHealth(n, h, s(61), iso(s(61)), grace);
    expect(v.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'Unknown', 'NodeStatusNeverUpdated'],
      ['MemoryPressure', 'Unknown', 'NodeStatusNeverUpdated'],
      ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated'],
      ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated'],
    ]);
  });

  it('a kubelet that keeps renewing its Lease keeps its node Ready, however old its status', () => {
    let h = observeNodeHealth(undefined, node([ready('True', s(0))]), lease(s(0)), s(0));
    for (let t = 10; t <= 300; t += 10) {
      h = observeNodeHealth(h, node([ready('True', s(0))]), lease(s(t)), s(t));
      expect(assessNodeHealth(node([ready('True', s(0))]), h, s(t + 5), iso(s(t + 5)), grace).silent).toBe(false);
    }
  });
});
