import type { Pod, Taint, Toleration } from '@pilot/api';
import { Status, type CycleState, type NodeScore, type Plugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { findUntoleratedTaint, tolerationsTolerateTaint } from './helpers.js';
import { defaultNormalizeScore } from './normalize.js';

export const TAINT_TOLERATION = 'TaintToleration';
export const untoleratedTaintReason = (t: Taint) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;

const STATE = 'PreScoreTaintToleration';
const doNotSchedule = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';

/**
 * Filter: a NoSchedule or NoExecute taint the pod does not tolerate rules the
 * node out (unresolvable: evicting pods does not remove taints).
 * Score: the fewer untolerated PreferNoSchedule taints, the better (reversed).
 */
export const taintToleration: Plugin = {
  name: TAINT_TOLERATION,
  filter(_state, pod: Pod, ni: NodeInfo): Status {
    const taint = findUntoleratedTaint(ni.node.spec?.taints, pod.spec?.tolerations, doNotSchedule);
    return taint ? Status.unresolvable(untoleratedTaintReason(taint)) : Status.SUCCESS;
  },
  preScore(state: CycleState, pod: Pod): Status {
    const prefer = (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(STATE, prefer);
    return Status.SUCCESS;
  },
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    const tolerations = state.read<Toleration[]>(STATE) ?? [];
    let intolerable = 0;
    for (const t of ni.node.spec?.taints ?? []) if (t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, t)) intolerable++;
    return intolerable;
  },
  normalizeScore(_state, _pod, scores: NodeScore[]): void {
    defaultNormalizeScore(scores, true);
  },
};
