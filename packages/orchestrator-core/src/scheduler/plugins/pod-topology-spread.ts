import {
  LabelSelector,
  labelSelectorFromObject,
  type LabelRequirement,
  type LabelSelectorSpec,
  type Pod,
  type ReplicationController,
  type Service,
} from '@pilot/api';
import { MAX_NODE_SCORE, Status, type CycleState, type NodeScore, type Plugin } from '../framework.js';
import type { NodeInfo, PodInfo, Snapshot } from '../node-info.js';
import { RequiredNodeAffinity } from './helpers.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** What the system default needs to know about a pod's owners (listers in upstream). */
export interface SpreadListers {
  /** Services of a namespace. */
  services(namespace: string): readonly Service[];
  /** A ReplicationController by namespace and name. */
  replicationController(namespace: string, name: string): ReplicationController | undefined;
  /** The selector of a ReplicaSet or StatefulSet, once those are served (undefined: unknown). */
  appsSelector?(kind: 'ReplicaSet' | 'StatefulSet', namespace: string, name: string): LabelSelectorSpec | undefined;
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelSelector;
}

/** systemDefaultConstraints: hostname maxSkew 3, zone maxSkew 5, both ScheduleAnyway. */
const SYSTEM_DEFAULT = [
  { maxSkew: 3, topologyKey: LABEL_HOSTNAME },
  { maxSkew: 5, topologyKey: LABEL_ZONE },
] as const;

/**
 * helper.DefaultSelector: the union of the selectors of the Services that
 * select the pod and of its controller (RC, ReplicaSet, StatefulSet). Empty
 * when the pod belongs to none: then the system default does not apply.
 */
export function defaultSelector(pod: Pod, listers: SpreadListers): LabelSelector {
  const ns = pod.metadata.namespace ?? '';
  const labels = pod.metadata.labels ?? {};
  const set: Record<string, string> = {};
  for (const svc of listers.services(ns)) {
    const sel = svc.spec?.selector;
    // A Service without a selector selects nothing (not everything).
    if (!sel) continue;
    if (Object.entries(sel).every(([k, v]) => labels[k] === v)) Object.assign(set, sel);
  }
  const extra: LabelRequirement[] = [];
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) {
    if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
      const rc = listers.replicationController(ns, owner.name);
      if (rc) Object.assign(set, rc.spec?.selector ?? {});
    } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
      const spec = listers.appsSelector?.(owner.kind, ns, owner.name);
      if (spec) extra.push(...labelSelectorFromObject(spec).requirements);
    }
  }
  const reqs: LabelRequirement[] = Object.entries(set).map(([key, v]) => ({ key, operator: '=' as const, values: [v] }));
  return new LabelSelector([...reqs, ...extra]);
}

/** The pod's own ScheduleAnyway constraints (the soft ones are what Score reads). */
function podConstraints(pod: Pod): Constraint[] {
  const out: Constraint[] = [];
  for (const c of pod.spec?.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== 'ScheduleAnyway') continue;
    let selector = labelSelectorFromObject(c.labelSelector);
    // matchLabelKeys: the pod's own values of those keys join the selector.
    const more = (c.matchLabelKeys ?? []).flatMap((k) => (pod.metadata.labels?.[k] !== undefined ? [{ key: k, operator: '=' as const, values: [pod.metadata.labels[k]!] }] : []));
    if (more.length) selector = new LabelSelector([...selector.requirements, ...more]);
    out.push({ maxSkew: c.maxSkew, topologyKey: c.topologyKey, selector });
  }
  return out;
}

/** countPodsMatchSelector: pods of the namespace that match, terminating ones excluded. */
function countMatching(pods: readonly PodInfo[], selector: LabelSelector, namespace: string): number {
  if (selector.isEmpty()) return 0;
  let n = 0;
  for (const p of pods) {
    const m = p.pod.metadata;
    if (m.deletionTimestamp || (m.namespace ?? '') !== namespace) continue;
    if (selector.matches(m.labels)) n++;
  }
  return n;
}

interface PreScoreState {
  constraints: Constraint[];
  ignoredNodes: Set<string>;
  /** Per constraint: topology value → matching pods in that domain (hostname: counted at Score). */
  counts: Map<string, number>[];
  weights: number[];
}

const STATE = 'PreScorePodTopologySpread';

const hasAllKeys = (labels: Record<string, string>, cs: readonly Constraint[]) => cs.every((c) => Object.prototype.hasOwnProperty.call(labels, c.topologyKey));

/**
 * Score only (ScheduleAnyway). With no constraints of its own, a pod that a
 * Service, RC, ReplicaSet or StatefulSet selects gets the system default
 * (hostname maxSkew 3, zone maxSkew 5), so replicas spread without asking.
 * A node scores the matching pods in each of its domains, weighted by
 * log(domains + 2), plus maxSkew − 1; NormalizeScore inverts it (fewest
 * matching pods → 100). Pods here obey no DoNotSchedule constraint: the
 * hard-constraint Filter is not built.
 */
export function podTopologySpread(listers: SpreadListers): Plugin {
  return {
    name: POD_TOPOLOGY_SPREAD,
    preScore(state: CycleState, pod: Pod, feasible: readonly NodeInfo[], snapshot: Snapshot): Status {
      const own = (pod.spec?.topologySpreadConstraints ?? []).length > 0;
      let constraints: Constraint[];
      if (own) constraints = podConstraints(pod);
      else {
        const selector = defaultSelector(pod, listers);
        constraints = selector.isEmpty() ? [] : SYSTEM_DEFAULT.map((c) => ({ ...c, selector }));
      }
      if (constraints.length === 0) return Status.skip();
      // Only the system default scores nodes that lack one of the keys.
      const requireAll = own;
      const s: PreScoreState = { constraints, ignoredNodes: new Set(), counts: constraints.map(() => new Map()), weights: [] };
      const topoSize = constraints.map(() => 0);
      for (const ni of feasible) {
        const labels = ni.node.metadata.labels ?? {};
        if (requireAll && !hasAllKeys(labels, constraints)) {
          s.ignoredNodes.add(ni.name);
          continue;
        }
        constraints.forEach((c, i) => {
          if (c.topologyKey === LABEL_HOSTNAME) return;
          const v = labels[c.topologyKey] ?? '';
          if (!s.counts[i]!.has(v)) {
            s.counts[i]!.set(v, 0);
            topoSize[i]!++;
          }
        });
      }
      s.weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? feasible.length - s.ignoredNodes.size : topoSize[i]!) + 2));
      const ns = pod.metadata.namespace ?? '';
      const needCounts = constraints.some((c) => c.topologyKey !== LABEL_HOSTNAME);
      if (needCounts) {
        const required = new RequiredNodeAffinity(pod);
        for (const ni of snapshot.nodeInfoList) {
          const labels = ni.node.metadata.labels ?? {};
          // nodeAffinityPolicy Honor: domains count only nodes the pod could go to.
          if (!required.match(ni.node)) continue;
          if (requireAll && !hasAllKeys(labels, constraints)) continue;
          constraints.forEach((c, i) => {
            if (c.topologyKey === LABEL_HOSTNAME) return;
            const v = labels[c.topologyKey] ?? '';
            const cur = s.counts[i]!.get(v);
            if (cur === undefined) return;
            s.counts[i]!.set(v, cur + countMatching(ni.pods, c.selector, ns));
          });
        }
      }
      state.write(STATE, s);
      return Status.SUCCESS;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      const s = state.read<PreScoreState>(STATE)!;
      if (s.ignoredNodes.has(ni.name)) return 0;
      const labels = ni.node.metadata.labels ?? {};
      let score = 0;
      s.constraints.forEach((c, i) => {
        const v = labels[c.topologyKey];
        if (v === undefined) return;
        const cnt = c.topologyKey === LABEL_HOSTNAME ? countMatching(ni.pods, c.selector, pod.metadata.namespace ?? '') : s.counts[i]!.get(v) ?? 0;
        score += cnt * s.weights[i]! + (c.maxSkew - 1);
      });
      return Math.round(score);
    },
    normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): void {
      const s = state.read<PreScoreState>(STATE);
      if (!s) return;
      let min = Number.MAX_SAFE_INTEGER;
      let max = 0;
      const ignored = new Set<NodeScore>();
      for (const sc of scores) {
        if (s.ignoredNodes.has(sc.name)) {
          ignored.add(sc);
          continue;
        }
        if (sc.score < min) min = sc.score;
        if (sc.score > max) max = sc.score;
      }
      for (const sc of scores) {
        if (ignored.has(sc)) sc.score = 0;
        else if (max === 0) sc.score = MAX_NODE_SCORE;
        else sc.score = Math.trunc((MAX_NODE_SCORE * (max + min - sc.score)) / max);
      }
    },
  };
}
