import type { Pod } from '@pilot/api';
import { Status, type Plugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { tolerationsTolerateTaint } from './helpers.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

/** A cordoned node (`spec.unschedulable`) takes only pods that tolerate the unschedulable taint. */
export const nodeUnschedulable: Plugin = {
  name: NODE_UNSCHEDULABLE,
  filter(_state, pod: Pod, ni: NodeInfo): Status {
    if (!ni.node.spec?.unschedulable) return Status.SUCCESS;
    const tolerates = tolerationsTolerateTaint(pod.spec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
    return tolerates ? Status.SUCCESS : Status.unresolvable(ERR_REASON_UNSCHEDULABLE);
  },
};
