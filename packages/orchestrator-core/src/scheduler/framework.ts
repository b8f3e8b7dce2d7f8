/**
 * The scheduling framework's vocabulary (kube-scheduler's pkg/scheduler/framework):
 * the Status a plugin answers with, the one Plugin interface with its
 * extension points, CycleState, and FitError — the error whose text is the
 * FailedScheduling message.
 *
 * Plugins are pure: they read the pod, a NodeInfo and the Snapshot, and
 * answer; they never call the API or the clock. Everything a plugin wants
 * to compute once per pod goes into CycleState at PreFilter/PreScore.
 */
import type { Pod } from '@pilot/api';
import type { NodeInfo, Snapshot } from './node-info.js';

/**
 * What a plugin says (framework.Code):
 * - `Success`: passes (filter) / nothing to say.
 * - `Error`: an internal error; the pod is retried with back-off, no node is blamed.
 * - `Unschedulable`: this node does not fit now, but might if other pods went
 *   away (resources, host ports). The preemption part of FailedScheduling counts
 *   such nodes as `No preemption victims found for incoming pod` (pilot never preempts).
 * - `UnschedulableAndUnresolvable`: this node can never fit as long as it stays
 *   as it is (taints, labels, unschedulable, node name): preemption cannot help,
 *   so it counts as `Preemption is not helpful for scheduling`.
 * - `Skip`: PreFilter/PreScore only: the plugin has nothing to do for this pod;
 *   its Filter/Score is not called.
 */
export enum Code {
  Success = 'Success',
  Error = 'Error',
  Unschedulable = 'Unschedulable',
  UnschedulableAndUnresolvable = 'UnschedulableAndUnresolvable',
  Skip = 'Skip',
}

export class Status {
  /** The plugin that answered (filled in by the framework runner). */
  plugin = '';

  constructor(
    readonly code: Code,
    /** One entry per reason: these are the strings counted in FailedScheduling. */
    readonly reasons: readonly string[] = [],
  ) {}

  static readonly SUCCESS = new Status(Code.Success);

  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }

  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }

  static error(message: string): Status {
    return new Status(Code.Error, [message]);
  }

  static skip(): Status {
    return new Status(Code.Skip);
  }

  isSuccess(): boolean {
    return this.code === Code.Success;
  }

  /** Unschedulable or UnschedulableAndUnresolvable. */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  message(): string {
    return this.reasons.join(', ');
  }

  withPlugin(name: string): Status {
    const s = new Status(this.code, this.reasons);
    s.plugin = name;
    return s;
  }
}

/** framework.MaxNodeScore: every Score is normalised into 0..100 before its weight applies. */
export const MAX_NODE_SCORE = 100;

export interface NodeScore {
  name: string;
  score: number;
}

/** Per-pod scratch space of one scheduling cycle, keyed by plugin. */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
}

/**
 * The one plugin interface. A plugin implements the extension points it
 * needs; the profile (plugins/registry.ts) lists which plugins run and the
 * weight of their scores, as KubeSchedulerConfiguration does.
 */
export interface Plugin {
  readonly name: string;
  /** Once per pod before any Filter (e.g. the pod's requests); a rejection fails every node. */
  preFilter?(state: CycleState, pod: Pod, snapshot: Snapshot): Status;
  /** Can the pod run on this node? */
  filter?(state: CycleState, pod: Pod, node: NodeInfo, snapshot: Snapshot): Status;
  /** Once per pod before Score, over the feasible nodes. */
  preScore?(state: CycleState, pod: Pod, feasible: readonly NodeInfo[], snapshot: Snapshot): Status;
  /** A raw score for one feasible node. */
  score?(state: CycleState, pod: Pod, node: NodeInfo, snapshot: Snapshot): number;
  /** Rescales the raw scores (in place) into 0..MAX_NODE_SCORE. */
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): void;
}

/** Which node said what, for one failed cycle (framework.Diagnosis). */
export interface Diagnosis {
  /** Node name → the status of the plugin that rejected it. */
  nodeToStatus: Map<string, Status>;
  /** Plugins that rejected at least one node: what a cluster event must touch to help. */
  unschedulablePlugins: Set<string>;
  /** Set when a PreFilter rejected the pod (then nodeToStatus is not listed in the message). */
  preFilterMsg?: string;
  /** The PostFilter (preemption) message, `preemption: 0/N nodes are available: …`. */
  postFilterMsg?: string;
}

/** framework.NoNodeAvailableMsg */
export const NO_NODE_AVAILABLE_MSG = (n: number) => `0/${n} nodes are available`;

/** scheduler.ErrNoNodesAvailable */
export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Reason counts, each `<count> <reason>`, sorted as strings (sort.Strings), as FitError prints them. */
export function reasonHistogram(statuses: Iterable<Status>): string[] {
  const counts = new Map<string, number>();
  for (const s of statuses) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  // Go's sort.Strings compares bytes; JS's default sort compares UTF-16 units: the same for ASCII reasons.
  return [...counts].map(([r, n]) => `${n} ${r}`).sort();
}

/**
 * The pod fits on no node (framework.FitError). Its message is the
 * FailedScheduling event's and the PodScheduled condition's:
 * `0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.`
 */
export class FitError extends Error {
  /** `diagnosis` complete, the PostFilter message included: the message is computed here. */
  constructor(
    readonly pod: Pod,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super(fitErrorMessage(numAllNodes, diagnosis));
    this.name = 'FitError';
  }
}

function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `${NO_NODE_AVAILABLE_MSG(numAllNodes)}:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const reasons = reasonHistogram(d.nodeToStatus.values());
    if (reasons.length) msg += ` ${reasons.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}`;
  return msg;
}

/** DefaultPreemption's reasons (preemption.go, default_preemption.go). */
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_PREEMPTION_VICTIMS = 'No preemption victims found for incoming pod';

/**
 * The PostFilter message of a scheduler that never evicts anyone: what
 * DefaultPreemption answers when no node has lower-priority pods to remove
 * (all pods here): nodes rejected as unresolvable are not helped by
 * preemption, the others find no victims.
 */
export function preemptionMessage(numAllNodes: number, nodeToStatus: ReadonlyMap<string, Status>): string {
  const statuses: Status[] = [];
  for (const s of nodeToStatus.values())
    statuses.push(new Status(s.code, [s.code === Code.UnschedulableAndUnresolvable ? PREEMPTION_NOT_HELPFUL : NO_PREEMPTION_VICTIMS]));
  // Nodes never evaluated (none here: a failed cycle evaluated every node) count as not helpful.
  for (let i = statuses.length; i < numAllNodes; i++) statuses.push(Status.unresolvable(PREEMPTION_NOT_HELPFUL));
  return `preemption: ${NO_NODE_AVAILABLE_MSG(numAllNodes)}: ${reasonHistogram(statuses).join(', ')}.`;
}
