import type { Service } from '@pilot/api';
import { buildEvent } from '../../src/apiserver/registry/events.js';
import { allocationEvents, allocationFailure } from '../../src/apiserver/registry/service-events.js';
import { internalError, invalid, conflict } from '../../src/apiserver/status.js';

const svc = (clusterIP: string | undefined, nodePorts: number[] = []): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'u-1' },
  spec: { ...(clusterIP ? { clusterIP } : {}), ports: nodePorts.length ? nodePorts.map((nodePort, i) => ({ port: 80 + i, nodePort })) : [{ port: 80 }] },
});

describe('apiserver events', () => {
  it('builds a core/v1 Event that describe finds through involvedObject (kind, namespace, name, uid)', () => {
    const ev = buildEvent(svc('10.0.0.20'), 'Normal', 'ClusterIPAllocated', 'Cluster IP 10.0.0.20 allocated', new Date('2026-01-02T03:04:05.678Z'));
    expect(ev).toMatchObject({
      kind: 'Event',
      metadata: { namespace: 'default', name: expect.stringMatching(/^web\.[0-9a-f]+$/) },
      involvedObject: { kind: 'Service', apiVersion: 'v1', namespace: 'default', name: 'web', uid: 'u-1' },
      type: 'Normal',
      reason: 'ClusterIPAllocated',
      count: 1,
      firstTimestamp: '2026-01-02T03:04:05Z',
      lastTimestamp: '2026-01-02T03:04:05Z',
      source: { component: 'pilot-apiserver' },
    });
    // The same story again names the same Event (the recorder then counts it); another story, another Event.
    expect(buildEvent(svc('10.0.0.20'), 'Normal', 'ClusterIPAllocated', 'Cluster IP 10.0.0.20 allocated').metadata.name).toBe(ev.metadata.name);
    expect(buildEvent(svc('10.0.0.20'), 'Normal', 'ClusterIPAllocated', 'Cluster IP 10.0.0.21 allocated').metadata.name).not.toBe(ev.metadata.name);
    // A refused object has no uid; a cluster-scoped one lands in default.
    expect(buildEvent({ kind: 'Node', apiVersion: 'v1', name: 'n1' }, 'Warning', 'X', 'y').metadata.namespace).toBe('default');
  });

  it('reports only what a Service newly holds', () => {
    expect(allocationEvents(undefined, svc('10.0.0.20'))).toEqual([{ reason: 'ClusterIPAllocated', message: 'Cluster IP 10.0.0.20 allocated' }]);
    expect(allocationEvents(svc('10.0.0.20'), svc('10.0.0.20', [30001, 30002]))).toEqual([{ reason: 'NodePortAllocated', message: 'Node ports 30001, 30002 allocated' }]);
    expect(allocationEvents(svc('10.0.0.20', [30001]), svc('10.0.0.20', [30001]))).toEqual([]);
    expect(allocationEvents(undefined, svc('None'))).toEqual([]);
  });

  it('tells allocation failures from other refusals', () => {
    expect(allocationFailure(internalError('failed to allocate a nodePort: range 30000-30001 is full'))).toMatch(/failed to allocate a nodePort/);
    const taken = invalid('Service', 'web', [{ type: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 30001: provided port is already allocated' }]);
    expect(allocationFailure(taken)).toContain('provided port is already allocated');
    const immutable = invalid('Service', 'web', [{ type: 'FieldValueInvalid', field: 'spec.clusterIP', message: 'Invalid value: "10.0.0.9": field is immutable' }]);
    expect(allocationFailure(immutable)).toBeUndefined();
    expect(allocationFailure(conflict('services', 'web'))).toBeUndefined();
  });
});
