import type { Pod, PreferredSchedulingTerm } from '@pilot/api';
import { Status, type CycleState, type NodeScore, type Plugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { RequiredNodeAffinity, termMatches } from './helpers.js';
import { defaultNormalizeScore } from './normalize.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_POD_NOT_MATCH_NODE_SELECTOR = "node(s) didn't match Pod's node affinity/selector";

const STATE = 'PreScoreNodeAffinity';
const FILTER_STATE = 'PreFilterNodeAffinity';

/**
 * Filter: `nodeSelector` and required node affinity (unresolvable: a node's
 * labels do not change by evicting pods). Score: the sum of the weights of
 * the preferred terms the node matches, normalised by the best node.
 */
export const nodeAffinity: Plugin = {
  name: NODE_AFFINITY,
  preFilter(state: CycleState, pod: Pod): Status {
    const required = new RequiredNodeAffinity(pod);
    // No nodeSelector and no required affinity: every node passes, Filter is skipped.
    if (required.empty) return Status.skip();
    state.write(FILTER_STATE, required);
    return Status.SUCCESS;
  },
  filter(state: CycleState, pod: Pod, ni: NodeInfo): Status {
    const required = state.read<RequiredNodeAffinity>(FILTER_STATE) ?? new RequiredNodeAffinity(pod);
    return required.match(ni.node) ? Status.SUCCESS : Status.unresolvable(ERR_REASON_POD_NOT_MATCH_NODE_SELECTOR);
  },
  preScore(state: CycleState, pod: Pod): Status {
    const terms = (pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).filter((t) => t.weight !== 0);
    if (terms.length === 0) return Status.skip();
    state.write(STATE, terms);
    return Status.SUCCESS;
  },
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    let count = 0;
    for (const t of state.read<PreferredSchedulingTerm[]>(STATE) ?? []) if (termMatches(t.preference, ni.node)) count += t.weight;
    return count;
  },
  normalizeScore(_state, _pod, scores: NodeScore[]): void {
    defaultNormalizeScore(scores, false);
  },
};
