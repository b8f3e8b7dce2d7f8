import type { Endpoints, Node, Pod } from '@pilot/api';
import { mirrorSlices } from '../../src/apiserver/registry/endpoints.js';
import { planPodDelete } from '../../src/apiserver/registry/pods.js';
import { specChanged } from '../../src/apiserver/registry/strategy.js';
import { parseResourcePath } from '../../src/apiserver/http/request.js';
import { parseTokenFile } from '../../src/apiserver/auth.js';

describe('EndpointSlice mirroring', () => {
  it('mirrors each subset into a slice with ready and not-ready endpoints and the service-name label', () => {
    const ep: Endpoints = {
      metadata: { name: 'web', namespace: 'ns', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
      subsets: [
        { addresses: [{ ip: '10.1.0.2', nodeName: 'n1' }], notReadyAddresses: [{ ip: '10.1.0.3' }], ports: [{ name: 'http', port: 80 }] },
        { addresses: [{ ip: '10.1.0.4' }], ports: [{ port: 53, protocol: 'UDP' }] },
      ],
    };
    const slices = mirrorSlices(ep);
    expect(slices.map((s) => s.metadata.name)).toEqual(['web', 'web-1']);
    expect(slices[0]!.metadata.labels?.['kubernetes.io/service-name']).toBe('web');
    expect(slices[0]!.endpoints.map((e) => [e.addresses[0], e.conditions?.ready, e.nodeName])).toEqual([
      ['10.1.0.2', true, 'n1'],
      ['10.1.0.3', false, undefined],
    ]);
    // An unnamed port is named "" (kubectl describe svc dereferences the name).
    expect(slices[1]!.ports).toEqual([{ name: '', port: 53, protocol: 'UDP' }]);
    // Same Endpoints → same slice identity on every write.
    expect(mirrorSlices(ep)[0]!.metadata.uid).toBe(slices[0]!.metadata.uid);
  });

  it("carries the endpoints controller's last-change-trigger-time to every slice, and no other annotation", () => {
    const at = '2026-12-02T12:00:00.5Z';
    const ep: Endpoints = {
      metadata: { name: 'web', namespace: 'ns', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': at, other: 'x' } },
      subsets: [{ addresses: [{ ip: '10.1.0.2' }], ports: [{ port: 80 }] }, { addresses: [{ ip: '10.1.0.3' }], ports: [{ port: 81 }] }],
    };
    expect(mirrorSlices(ep).map((s) => s.metadata.annotations)).toEqual([
      { 'endpoints.kubernetes.io/last-change-trigger-time': at },
      { 'endpoints.kubernetes.io/last-change-trigger-time': at },
    ]);
    expect(mirrorSlices({ ...ep, metadata: { name: 'web', namespace: 'ns' } })[0]!.metadata.annotations).toBeUndefined();
  });

  it('writes an empty slice for an Endpoints without subsets', () => {
    const [s] = mirrorSlices({ metadata: { name: 'x', namespace: 'ns' } });
    expect(s!.endpoints).toEqual([]);
  });
});

describe('graceful pod deletion', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const readyNode: Node = { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
  const bound: Pod = { metadata: { name: 'p' }, spec: { containers: [], nodeName: 'n1' }, status: { phase: 'Running' } };

  it('marks a pod on a Ready node with deletionTimestamp + grace', () => {
    const plan = planPodDelete(bound, readyNode, 30, now);
    expect(plan.kind).toBe('mark');
    if (plan.kind === 'mark') {
      expect(plan.obj.metadata.deletionTimestamp).toBe('2026-01-01T00:00:30Z');
      expect(plan.obj.metadata.deletionGracePeriodSeconds).toBe(30);
    }
  });

  it('deletes at once when unscheduled, finished, on a missing or not-Ready node, or with grace 0', () => {
    expect(planPodDelete({ ...bound, spec: { containers: [] } }, readyNode, 30, now).kind).toBe('now');
    expect(planPodDelete({ ...bound, status: { phase: 'Succeeded' } }, readyNode, 30, now).kind).toBe('now');
    expect(planPodDelete(bound, undefined, 30, now).kind).toBe('now');
    expect(planPodDelete(bound, { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, 30, now).kind).toBe('now');
    expect(planPodDelete(bound, readyNode, 0, now).kind).toBe('now');
  });
});

describe('request paths and helpers', () => {
  it('maps Kubernetes paths to resources, namespaces, names and subresources', () => {
    expect(parseResourcePath('/api/v1/namespaces/default/pods/p/binding')).toMatchObject({ resource: { resource: 'pods' }, namespace: 'default', name: 'p', subresource: 'binding' });
    expect(parseResourcePath('/api/v1/namespaces/kube-system')).toMatchObject({ resource: { resource: 'namespaces' }, name: 'kube-system' });
    expect(parseResourcePath('/api/v1/namespaces/x/status')).toMatchObject({ resource: { resource: 'namespaces' }, name: 'x', subresource: 'status' });
    expect(parseResourcePath('/api/v1/pods')).toMatchObject({ resource: { resource: 'pods' } });
    expect(parseResourcePath('/apis/discovery.k8s.io/v1/namespaces/d/endpointslices')).toMatchObject({ resource: { resource: 'endpointslices' }, namespace: 'd' });
    expect(parseResourcePath('/version')).toBeUndefined();
    expect(() => parseResourcePath('/api/v1/widgets')).toThrow('could not find');
    expect(() => parseResourcePath('/api/v1/namespaces/d/pods/p/nope')).toThrow('could not find');
  });

  it('detects spec changes regardless of key order, ignoring metadata and status', () => {
    expect(specChanged({ metadata: { name: 'a' }, spec: { x: 1, y: { a: 1, b: 2 } } }, { metadata: { name: 'b' }, spec: { y: { b: 2, a: 1 }, x: 1 }, status: { s: 1 } })).toBe(false);
    expect(specChanged({ metadata: {}, spec: { x: 1 } }, { metadata: {}, spec: { x: 2 } })).toBe(true);
  });

  it('parses token files and rejects bad lines with the line number', () => {
    const t = parseTokenFile('# comment\nabc,admin,1,"system:masters,dev"\n');
    expect(t.get('abc')).toEqual({ name: 'admin', uid: '1', groups: ['system:masters', 'dev', 'system:authenticated'] });
    expect(() => parseTokenFile('justatoken\n', 'tokens.csv')).toThrow('tokens.csv:1');
  });
});
