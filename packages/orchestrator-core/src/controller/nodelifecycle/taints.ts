/**
 * The taints the node lifecycle controller owns, pure (upstream's
 * well_known_taints.go, doNoScheduleTaintingPass and the NoExecute tainting
 * of processTaintBaseEviction):
 *
 * - NoExecute, from the Ready condition: `node.kubernetes.io/not-ready` while
 *   Ready=False, `node.kubernetes.io/unreachable` while Ready=Unknown, neither
 *   while Ready=True (the two are exclusive, as Ready's states are); the taint
 *   manager evicts the pods that do not tolerate them;
 * - NoSchedule, from the conditions (TaintNodesByCondition): not-ready /
 *   unreachable as above, memory-, disk- and pid-pressure and
 *   network-unavailable while True, and `node.kubernetes.io/unschedulable`
 *   while spec.unschedulable (kubectl cordon).
 *
 * Taints match by key and effect (upstream's MatchTaint); added ones carry
 * timeAdded; taints anyone else put on the node are never touched.
 */
import {
  TAINT_NODE_DISK_PRESSURE,
  TAINT_NODE_MEMORY_PRESSURE,
  TAINT_NODE_NETWORK_UNAVAILABLE,
  TAINT_NODE_NOT_READY,
  TAINT_NODE_PID_PRESSURE,
  TAINT_NODE_UNREACHABLE,
  TAINT_NODE_UNSCHEDULABLE,
  type Node,
  type Taint,
} from '@pilot/api';
import { nodeCondition } from './health.js';

export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NODE_NOT_READY, effect: 'NoExecute' };
export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute' };

/** Condition type → the condition status that taints → taint key (upstream's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NODE_NOT_READY, Unknown: TAINT_NODE_UNREACHABLE },
  MemoryPressure: { True: TAINT_NODE_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_NODE_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NODE_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_NODE_PID_PRESSURE },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

export function sameTaint(a: Pick<Taint, 'key' | 'effect'>, b: Pick<Taint, 'key' | 'effect'>): boolean {
  return a.key === b.key && a.effect === b.effect;
}

function has(taints: readonly Taint[], t: Pick<Taint, 'key' | 'effect'>): boolean {
  return taints.some((x) => sameTaint(x, t));
}

/**
 * The NoExecute taint the Ready status asks for, and the one it excludes:
 * undefined when the node has no Ready condition (nothing is decided).
 */
export function noExecuteTaintsFor(readyStatus: string | undefined): { add: Taint[]; remove: Taint[] } | undefined {
  switch (readyStatus) {
    case 'False':
      return { add: [NOT_READY_NO_EXECUTE], remove: [UNREACHABLE_NO_EXECUTE] };
    case 'Unknown':
      return { add: [UNREACHABLE_NO_EXECUTE], remove: [NOT_READY_NO_EXECUTE] };
    case 'True':
      return { add: [], remove: [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] };
    default:
      return undefined;
  }
}

/** The NoSchedule taints the conditions and spec.unschedulable ask for, against the ones of those keys the node has. */
export function noScheduleTaintsFor(node: Node): { add: Taint[]; remove: Taint[] } {
  const want: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) want.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) want.push({ key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' });
  const owned = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_NODE_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
  return { add: want.filter((t) => !has(owned, t)), remove: owned.filter((t) => !has(want, t)) };
}

/**
 * The node's taints after adding `add` (with timeAdded) and removing
 * `remove` (upstream's SwapNodeControllerTaint); undefined when that changes
 * nothing.
 */
export function swapTaints(taints: readonly Taint[] | undefined, add: readonly Taint[], remove: readonly Taint[], nowIso: string): Taint[] | undefined {
  const cur = taints ?? [];
  const kept = cur.filter((t) => !has(remove, t));
  const added = add.filter((t) => !has(kept, t)).map((t) => ({ ...t, timeAdded: nowIso }));
  if (kept.length === cur.length && added.length === 0) return undefined;
  return [...kept, ...added];
}

/** Every controller-owned taint change one node needs now, as one new taint list (undefined: none). */
export function planNodeTaints(node: Node, nowIso: string, opts: { noExecute: boolean } = { noExecute: true }): Taint[] | undefined {
  const ns = noScheduleTaintsFor(node);
  const ne = opts.noExecute ? noExecuteTaintsFor(nodeCondition(node, 'Ready')?.status) : undefined;
  const add = [...ns.add, ...(ne?.add ?? [])];
  const remove = [...ns.remove, ...(ne?.remove ?? [])];
  return swapTaints(node.spec?.taints, add, remove, nowIso);
}
