import type { Pod } from '@pilot/api';
import { Status, type Plugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

/** A pod that names a node fits only there. */
export const nodeName: Plugin = {
  name: NODE_NAME,
  filter(_state, pod: Pod, ni: NodeInfo): Status {
    const want = pod.spec?.nodeName;
    return !want || want === ni.name ? Status.SUCCESS : Status.unresolvable(ERR_REASON_NODE_NAME);
  },
};
