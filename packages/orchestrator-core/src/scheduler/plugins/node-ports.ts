import type { Pod } from '@pilot/api';
import { Status, type CycleState, type Plugin } from '../framework.js';
import { podHostPorts, portKey, type HostPort, type NodeInfo } from '../node-info.js';

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

const STATE = 'PreFilterNodePorts';

/**
 * Two pods cannot take one host port: the same protocol and port conflict
 * when either address is 0.0.0.0 or both are equal. Unschedulable (not
 * unresolvable): the port frees up when the other pod goes.
 */
export function fitsPorts(wanted: readonly HostPort[], ni: NodeInfo): boolean {
  for (const w of wanted) {
    if (ni.usedPorts.has(portKey(w))) return false;
    if (w.ip === '0.0.0.0') {
      for (const used of ni.usedPorts) {
        const [, proto, port] = used.split('/');
        if (proto === w.protocol && Number(port) === w.port) return false;
      }
    } else if (ni.usedPorts.has(portKey({ ...w, ip: '0.0.0.0' }))) return false;
  }
  return true;
}

export const nodePorts: Plugin = {
  name: NODE_PORTS,
  preFilter(state: CycleState, pod: Pod): Status {
    const ports = podHostPorts(pod);
    if (ports.length === 0) return Status.skip();
    state.write(STATE, ports);
    return Status.SUCCESS;
  },
  filter(state: CycleState, _pod: Pod, ni: NodeInfo): Status {
    const ports = state.read<HostPort[]>(STATE) ?? [];
    return fitsPorts(ports, ni) ? Status.SUCCESS : Status.unschedulable(ERR_REASON_NODE_PORTS);
  },
};
