/**
 * Node health as the node lifecycle controller judges it (upstream's
 * nodeHealthData and tryUpdateNodeHealth), pure.
 *
 * The controller never trusts the timestamps a kubelet writes (its clock may
 * be off): it notes on its *own* clock when it last saw the kubelet alive,
 * which is when the Ready condition's heartbeat changed or the node's Lease in
 * kube-node-lease was renewed (whichever is newer). A node not seen alive for
 * the grace period (the startup grace period while it has never posted a
 * Ready condition) has its kubelet-owned conditions set to Unknown.
 */
import type { Lease, Node, NodeCondition } from '@pilot/api';

/** What the controller remembers of one node between passes. */
export interface NodeHealth {
  /** Controller-clock ms when the kubelet was last seen alive. */
  probeTimestamp: number;
  /** Controller-clock ms when the Ready condition last changed state. */
  readyTransitionTimestamp: number;
  /** The Ready condition last seen (a new heartbeat there is a sign of life). */
  ready?: Pick<NodeCondition, 'status' | 'lastHeartbeatTime' | 'lastTransitionTime'>;
  /** renewTime of the Lease last seen. */
  leaseRenewTime?: string;
}

/** The conditions the kubelet owns, set to Unknown when it goes silent (NetworkUnavailable is not the kubelet's). */
export const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export const REASON_STATUS_UNKNOWN = 'NodeStatusUnknown';
export const MESSAGE_STATUS_UNKNOWN = 'Kubelet stopped posting node status.';
export const REASON_NEVER_UPDATED = 'NodeStatusNeverUpdated';
export const MESSAGE_NEVER_UPDATED = 'Kubelet never posted node status.';

export function nodeCondition(node: Node, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

function parseTime(s: string | undefined): number {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

function pickReady(c: NodeCondition): NonNullable<NodeHealth['ready']> {
  return { status: c.status, ...(c.lastHeartbeatTime ? { lastHeartbeatTime: c.lastHeartbeatTime } : {}), ...(c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}) };
}

/**
 * The node's health after this observation: `saved` is what the controller
 * remembered (undefined for a node it sees for the first time), `now` its own
 * clock. A node first seen with a Ready condition or a Lease gets a full
 * grace period from now (a restarted controller evicts nothing at once); one
 * that never posted status counts from its creation.
 */
export function observeNodeHealth(saved: NodeHealth | undefined, node: Node, lease: Lease | undefined, now: number): NodeHealth {
  const cur = nodeCondition(node, 'Ready');
  let h: NodeHealth;
  if (!cur) {
    if (saved && !saved.ready) h = { ...saved };
    else if (saved) h = { ...saved, probeTimestamp: now, readyTransitionTimestamp: now };
    else {
      const created = parseTime(node.metadata.creationTimestamp);
      const at = Number.isFinite(created) ? Math.min(created, now) : now;
      h = { probeTimestamp: at, readyTransitionTimestamp: at };
    }
    delete h.ready;
  } else if (!saved?.ready) {
    h = { ...(saved?.leaseRenewTime ? { leaseRenewTime: saved.leaseRenewTime } : {}), probeTimestamp: now, readyTransitionTimestamp: now, ready: pickReady(cur) };
  } else if (saved.ready.lastHeartbeatTime !== cur.lastHeartbeatTime) {
    const transitioned = saved.ready.lastTransitionTime !== cur.lastTransitionTime;
    h = { ...saved, probeTimestamp: now, readyTransitionTimestamp: transitioned ? now : saved.readyTransitionTimestamp, ready: pickReady(cur) };
  } else {
    // Same heartbeat: nothing from the kubelet (the controller's own Unknown write changes only the transition time).
    h = { ...saved, ready: pickReady(cur) };
  }
  const renew = lease?.spec?.renewTime;
  if (renew && (h.leaseRenewTime === undefined || parseTime(renew) > parseTime(h.leaseRenewTime))) {
    h.leaseRenewTime = renew;
    h.probeTimestamp = now;
  }
  return h;
}

export interface HealthVerdict {
  /** The grace period that applied (startup grace while the node never posted Ready). */
  gracePeriodMs: number;
  /** Whether the node was silent for longer than the grace period. */
  silent: boolean;
  /** The node's conditions to write to its status, when the Ready condition changes; undefined: nothing to write. */
  conditions?: NodeCondition[];
  /** The Ready condition before and after this verdict. */
  observedReady?: NodeCondition;
  currentReady?: NodeCondition;
}

/**
 * What a silent node's status becomes (upstream's tryUpdateNodeHealth): past
 * the grace period every kubelet condition not yet Unknown turns Unknown
 * (`NodeStatusUnknown`, "Kubelet stopped posting node status."), a missing one
 * is added as `NodeStatusNeverUpdated`; the status is written only when the
 * Ready condition changed. `nowIso` is `now` as metav1.Time.
 */
export function assessNodeHealth(node: Node, health: NodeHealth, now: number, nowIso: string, grace: { monitorMs: number; startupMs: number }): HealthVerdict {
  const observedReady = nodeCondition(node, 'Ready');
  const gracePeriodMs = observedReady ? grace.monitorMs : grace.startupMs;
  const silent = now > health.probeTimestamp + gracePeriodMs;
  if (!silent) return { gracePeriodMs, silent, ...(observedReady ? { observedReady, currentReady: observedReady } : {}) };
  const conditions = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  for (const type of KUBELET_CONDITIONS) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      conditions.push({
        type,
        status: 'Unknown',
        reason: REASON_NEVER_UPDATED,
        message: MESSAGE_NEVER_UPDATED,
        ...(node.metadata.creationTimestamp ? { lastHeartbeatTime: node.metadata.creationTimestamp } : {}),
        lastTransitionTime: nowIso,
      });
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = REASON_STATUS_UNKNOWN;
      c.message = MESSAGE_STATUS_UNKNOWN;
      c.lastTransitionTime = nowIso;
    }
  }
  const currentReady = conditions.find((x) => x.type === 'Ready')!;
  const changed = !observedReady || observedReady.status !== currentReady.status || observedReady.reason !== currentReady.reason || observedReady.message !== currentReady.message || observedReady.lastTransitionTime !== currentReady.lastTransitionTime;
  return { gracePeriodMs, silent, currentReady, ...(observedReady ? { observedReady } : {}), ...(changed ? { conditions } : {}) };
}
