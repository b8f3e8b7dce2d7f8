import { checkFieldSelector, fieldLabelsFor, fieldsOf, isKnownFieldLabel, matchesFields } from '../src/fields.js';
import { parseFieldSelector, SelectorError } from '../src/selectors.js';
import type { Event, Node, Pod } from '../src/types.js';

describe('field labels', () => {
  it('reads pod fields the kubelet and kubectl select on', () => {
    const pod: Pod = {
      metadata: { name: 'web-1', namespace: 'default' },
      spec: { containers: [], nodeName: 'n1', restartPolicy: 'Always' },
      status: { phase: 'Running', podIP: '10.1.5.3' },
    };
    const f = fieldsOf('pods', pod);
    expect(f).toMatchObject({
      'metadata.name': 'web-1',
      'metadata.namespace': 'default',
      'spec.nodeName': 'n1',
      'status.phase': 'Running',
      'status.podIP': '10.1.5.3',
      'spec.restartPolicy': 'Always',
      'spec.hostNetwork': 'false',
    });
    expect(matchesFields('pods', pod, parseFieldSelector('spec.nodeName=n1,status.phase!=Failed'))).toBe(true);
    expect(matchesFields('pods', { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [] } }, parseFieldSelector('spec.nodeName='))).toBe(true);
  });

  it('reads event involvedObject fields and node spec.unschedulable', () => {
    const ev: Event = {
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u1' },
      reason: 'Scheduled',
      type: 'Normal',
      source: { component: 'scheduler' },
    };
    expect(fieldsOf('events', ev)).toMatchObject({
      'involvedObject.kind': 'Pod',
      'involvedObject.name': 'web-1',
      'involvedObject.uid': 'u1',
      'involvedObject.namespace': 'default',
      reason: 'Scheduled',
      type: 'Normal',
      source: 'scheduler',
    });
    const node: Node = { metadata: { name: 'n1' }, spec: {} };
    expect(fieldsOf('nodes', node)['spec.unschedulable']).toBe('false');
    expect(fieldsOf('nodes', { metadata: { name: 'n1' }, spec: { unschedulable: true } })['spec.unschedulable']).toBe('true');
  });

  it('knows which labels each resource supports, so unknown ones can be refused', () => {
    expect(fieldLabelsFor('services')).toEqual(expect.arrayContaining(['metadata.name', 'metadata.namespace']));
    expect(isKnownFieldLabel('pods', 'spec.nodeName')).toBe(true);
    expect(isKnownFieldLabel('services', 'spec.nodeName')).toBe(false);
    expect(isKnownFieldLabel('leases', 'metadata.name')).toBe(true);
    expect(() => checkFieldSelector('pods', parseFieldSelector('spec.nodeName=a,spec.bogus=b'))).toThrow(SelectorError);
    expect(() => checkFieldSelector('pods', parseFieldSelector('spec.bogus=b'))).toThrow(/field label not supported: spec.bogus/);
    expect(() => checkFieldSelector('events', parseFieldSelector('involvedObject.name=x,metadata.namespace=d'))).not.toThrow();
  });
});
