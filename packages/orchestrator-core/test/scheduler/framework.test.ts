import { Code, FitError, preemptionMessage, reasonHistogram, Status } from '../../src/scheduler/framework.js';
import { pod } from './fixtures.js';

describe('FailedScheduling message (FitError)', () => {
  it('counts reasons per node, sorted as strings, then the preemption part', () => {
    const nodeToStatus = new Map<string, Status>([
      ['n1', Status.unresolvable('node(s) had untolerated taint {dedicated: infra}')],
      ['n2', Status.unschedulable('Insufficient cpu')],
      ['n3', Status.unschedulable('Insufficient cpu')],
    ]);
    const err = new FitError(pod('p'), 3, { nodeToStatus, unschedulablePlugins: new Set(), postFilterMsg: preemptionMessage(3, nodeToStatus) });
    expect(err.message).toBe(
      '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
  });
  it('a node with several reasons counts in each', () => {
    const nodeToStatus = new Map([['n1', Status.unschedulable('Insufficient cpu', 'Insufficient memory')]]);
    const err = new FitError(pod('p'), 1, { nodeToStatus, unschedulablePlugins: new Set(), postFilterMsg: preemptionMessage(1, nodeToStatus) });
    expect(err.message).toBe('0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });
  it('sorts as strings: "10 x" before "2 y"', () => {
    const s = [...Array(10)].map(() => Status.unresolvable('x'));
    s.push(Status.unresolvable('y'), Status.unresolvable('y'));
    expect(reasonHistogram(s)).toEqual(['10 x', '2 y']);
  });
  it('a PreFilter rejection is printed once, not per node', () => {
    const st = new Status(Code.UnschedulableAndUnresolvable, ["node(s) didn't match Pod's node affinity/selector"]);
    const err = new FitError(pod('p'), 2, { nodeToStatus: new Map([['a', st], ['b', st]]), unschedulablePlugins: new Set(), preFilterMsg: st.message() });
    expect(err.message).toBe("0/2 nodes are available: node(s) didn't match Pod's node affinity/selector.");
  });
});
