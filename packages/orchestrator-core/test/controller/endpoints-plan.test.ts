import type { Endpoints, EndpointSubset, Pod, Service } from '@pilot/api';
import {
  desiredSubsets,
  findPort,
  planEndpoints,
  rfc3339Nano,
  shouldPodBeInEndpoints,
  subsetsEqual,
  TriggerTimeTracker,
  truncateSubsets,
} from '../../src/controller/endpoints/endpoints-plan.js';
import { podEndpointsChanged } from '../../src/controller/endpoints/controller.js';

interface P {
  ip?: string;
  ready?: boolean;
  phase?: string;
  deleting?: boolean;
  node?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  hostname?: string;
  subdomain?: string;
  readyAt?: string;
  labels?: Record<string, string>;
}

function pod(name: string, o: P = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2026-12-02T12:00:30Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [{ name: 'c', ports: o.ports ?? [{ name: 'http', containerPort: 8080 }] }],
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip !== '' ? { podIP: o.ip ?? '10.1.1.2' } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readyAt ?? '2026-12-02T12:00:00Z' }],
    },
  };
}

function svc(o: Partial<NonNullable<Service['spec']>> = {}, name = 'web'): Service {
  return {
    metadata: { name, namespace: 'ns', labels: { team: 'a' }, creationTimestamp: '2026-12-02T11:00:00Z' },
    spec: { selector: { app: 'web' }, clusterIP: '10.0.0.20', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...o },
  };
}

const addr = (p: Pod) => ({ ip: p.status!.podIP!, nodeName: p.spec!.nodeName!, targetRef: { kind: 'Pod', namespace: 'ns', name: p.metadata.name!, uid: p.metadata.uid! } });

describe('shouldPodBeInEndpoints', () => {
  it.each<[string, Pod, boolean, boolean]>([
    ['a running pod with an IP', pod('a'), false, true],
    ['a pod without an IP', pod('a', { ip: '' }), false, false],
    ['a Succeeded pod', pod('a', { phase: 'Succeeded' }), true, false],
    ['a Failed pod', pod('a', { phase: 'Failed' }), true, false],
    ['a terminating pod', pod('a', { deleting: true }), false, false],
    ['a terminating pod of a Service publishing not-ready addresses', pod('a', { deleting: true }), true, true],
    ['a not-ready pod', pod('a', { ready: false }), false, true],
  ])('%s → %s / %s', (_what, p, includeTerminating, want) => {
    expect(shouldPodBeInEndpoints(p, includeTerminating)).toBe(want);
  });
});

describe('findPort', () => {
  const p = pod('a', { ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] });
  it.each([
    [{ port: 80, targetPort: 'http' }, 8080],
    [{ port: 80, targetPort: 9000 }, 9000],
    [{ port: 80 }, 80],
    [{ port: 80, targetPort: '8081' }, 8081],
    [{ port: 53, targetPort: 'dns', protocol: 'UDP' }, 53],
    [{ port: 53, targetPort: 'dns' }, undefined],
    [{ port: 80, targetPort: 'nope' }, undefined],
  ])('%j → %s', (sp, want) => {
    expect(findPort(p, sp)).toBe(want);
  });
});

describe('desiredSubsets (syncService + RepackSubsets)', () => {
  it('ready pods in addresses, not-ready ones in notReadyAddresses, sorted by IP, one subset', () => {
    const a = pod('a', { ip: '10.1.1.9' });
    const b = pod('b', { ip: '10.1.1.10', node: 'n2' });
    const c = pod('c', { ip: '10.1.1.3', ready: false });
    expect(desiredSubsets(svc(), [a, b, c])).toEqual([{ addresses: [addr(b), addr(a)], notReadyAddresses: [addr(c)], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]);
  });

  it('with publishNotReadyAddresses every listed pod is in addresses, terminating ones too', () => {
    const a = pod('a', { ip: '10.1.1.2', ready: false });
    const b = pod('b', { ip: '10.1.1.3', deleting: true });
    expect(desiredSubsets(svc({ publishNotReadyAddresses: true }), [a, b])).toEqual([{ addresses: [addr(a), addr(b)], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]);
  });

  it('drops terminating, terminal and IP-less pods', () => {
    const ok = pod('ok', { ip: '10.1.1.2' });
    expect(desiredSubsets(svc(), [ok, pod('t', { ip: '10.1.1.3', deleting: true }), pod('done', { ip: '10.1.1.4', phase: 'Succeeded' }), pod('noip', { ip: '' })])).toEqual([
      { addresses: [addr(ok)], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    ]);
  });

  it('resolves a named targetPort per pod: pods with different numbers get their own subsets; a pod without the name is left out', () => {
    const a = pod('a', { ip: '10.1.1.2', ports: [{ name: 'http', containerPort: 8080 }] });
    const b = pod('b', { ip: '10.1.1.3', ports: [{ name: 'http', containerPort: 9090 }] });
    const none = pod('none', { ip: '10.1.1.4', ports: [{ name: 'metrics', containerPort: 9100 }] });
    expect(desiredSubsets(svc(), [a, b, none])).toEqual([
      { addresses: [addr(a)], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [addr(b)], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    ]);
  });

  it('groups several ports offered by the same pods into one subset', () => {
    const s = svc({ ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 81, targetPort: 9000 }] });
    const a = pod('a', { ip: '10.1.1.2' });
    expect(desiredSubsets(s, [a])).toEqual([{ addresses: [addr(a)], ports: [{ name: 'admin', port: 9000, protocol: 'TCP' }, { name: 'http', port: 8080, protocol: 'TCP' }] }]);
  });

  it('sets hostname only for pods whose subdomain is the Service', () => {
    const a = pod('a', { ip: '10.1.1.2', hostname: 'a', subdomain: 'web' });
    const b = pod('b', { ip: '10.1.1.3', hostname: 'b', subdomain: 'other' });
    const [s] = desiredSubsets(svc(), [a, b]);
    expect(s!.addresses!.map((x) => x.hostname)).toEqual(['a', undefined]);
  });

  it('a headless Service without ports still lists its pods; one with a cluster IP and no ports lists none', () => {
    const a = pod('a', { ip: '10.1.1.2' });
    expect(desiredSubsets(svc({ clusterIP: 'None', ports: [] }), [a])).toEqual([{ addresses: [addr(a)] }]);
    expect(desiredSubsets(svc({ ports: [] }), [a])).toEqual([]);
  });
});

describe('truncateSubsets (over 1000 addresses)', () => {
  const many = (n: number, prefix: string, ready: boolean): EndpointSubset => {
    const list = Array.from({ length: n }, (_, i) => ({ ip: `${prefix}.${Math.floor(i / 250)}.${i % 250}` }));
    return ready ? { addresses: list, ports: [{ port: 80 }] } : { notReadyAddresses: list, ports: [{ port: 80 }] };
  };

  it('keeps everything up to the limit', () => {
    expect(truncateSubsets([many(1000, '10.1', true)], 1000).truncated).toBe(false);
  });

  it('cuts not-ready addresses first', () => {
    const { subsets, truncated } = truncateSubsets([{ ...many(900, '10.1', true), ...{ notReadyAddresses: many(300, '10.2', false).notReadyAddresses } }], 1000);
    expect(truncated).toBe(true);
    expect(subsets[0]!.addresses).toHaveLength(900);
    expect(subsets[0]!.notReadyAddresses).toHaveLength(100);
  });

  it('with too many ready ones, drops every not-ready one and cuts ready ones in proportion', () => {
    const { subsets } = truncateSubsets([many(1500, '10.1', true), many(500, '10.2', true), many(10, '10.3', false)], 1000);
    expect(subsets.map((s) => [s.addresses?.length ?? 0, s.notReadyAddresses?.length ?? 0])).toEqual([
      [750, 0],
      [250, 0],
      [0, 0],
    ]);
  });
});

describe('planEndpoints (write only on change)', () => {
  const a = pod('a', { ip: '10.1.1.2' });
  const subsets = desiredSubsets(svc(), [a]);
  const T = Date.parse('2026-12-02T12:00:00.25Z');

  it('creates the Endpoints with the Service labels and the trigger time', () => {
    expect(planEndpoints(svc(), subsets, undefined, T)).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'ns', labels: { team: 'a' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-02T12:00:00.25Z' } },
      subsets,
    });
  });

  it('writes nothing when subsets and labels are what is stored, even if pods changed resourceVersion', () => {
    const stored: Endpoints = { metadata: { name: 'web', namespace: 'ns', resourceVersion: '7', labels: { team: 'a' } }, subsets: structuredClone(subsets) };
    stored.subsets![0]!.addresses![0]!.targetRef!.resourceVersion = '99';
    expect(planEndpoints(svc(), subsets, stored, T)).toBeUndefined();
  });

  it('updates (keeping the resourceVersion for the compare-and-swap) when a label or an address changed; clears a missing trigger time', () => {
    const stored: Endpoints = {
      metadata: { name: 'web', namespace: 'ns', resourceVersion: '7', labels: { team: 'old' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 'x', keep: 'y' } },
      subsets,
    };
    const next = planEndpoints(svc(), subsets, stored, undefined)!;
    expect(next.metadata).toEqual({ name: 'web', namespace: 'ns', resourceVersion: '7', labels: { team: 'a' }, annotations: { keep: 'y' } });
    expect(planEndpoints(svc(), desiredSubsets(svc(), [a, pod('b', { ip: '10.1.1.3' })]), { ...stored, metadata: { ...stored.metadata, labels: { team: 'a' } } }, T)).toBeDefined();
  });

  it('labels the Endpoints of a headless Service', () => {
    expect(planEndpoints(svc({ clusterIP: 'None' }), [], undefined, undefined)!.metadata.labels).toEqual({ team: 'a', 'service.kubernetes.io/headless': '' });
  });

  it('marks a truncated object over-capacity and compares after truncation', () => {
    const big: EndpointSubset[] = [{ addresses: Array.from({ length: 1200 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${i % 250}` })), ports: [{ port: 80, protocol: 'TCP' }] }];
    const first = planEndpoints(svc(), big, undefined, T)!;
    expect(first.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBe('truncated');
    expect(first.subsets![0]!.addresses).toHaveLength(1000);
    expect(planEndpoints(svc(), big, { ...first, metadata: { ...first.metadata, resourceVersion: '3' } }, T)).toBeUndefined();
  });

  it('subsetsEqual sees a change of readiness', () => {
    const nr = desiredSubsets(svc(), [pod('a', { ip: '10.1.1.2', ready: false })]);
    expect(subsetsEqual(subsets, nr)).toBe(false);
  });
});

describe('TriggerTimeTracker', () => {
  it("answers the Service's creation the first time, then the earliest pod change since the last sync, then nothing", () => {
    const tr = new TriggerTimeTracker();
    const s = svc();
    const a = pod('a', { readyAt: '2026-12-02T12:00:00Z' });
    expect(tr.compute(s, [a])).toBe(Date.parse('2026-12-02T11:00:00Z'));
    expect(tr.compute(s, [a])).toBeUndefined();
    const a2 = pod('a', { readyAt: '2026-12-02T12:05:00Z' });
    const b = pod('b', { readyAt: '2026-12-02T12:03:00Z' });
    expect(tr.compute(s, [a2, b])).toBe(Date.parse('2026-12-02T12:03:00Z'));
    tr.deleteService('ns', 'web');
    expect(tr.compute(s, [a2])).toBe(Date.parse('2026-12-02T11:00:00Z'));
  });

  it('formats as RFC3339Nano (no trailing zeros)', () => {
    expect(rfc3339Nano(Date.parse('2026-12-02T12:00:00.000Z'))).toBe('2026-12-02T12:00:00Z');
    expect(rfc3339Nano(Date.parse('2026-12-02T12:00:00.120Z'))).toBe('2026-12-02T12:00:00.12Z');
  });
});

describe('podEndpointsChanged (which pod updates reach the Services)', () => {
  it.each<[string, Partial<P>, { podChanged: boolean; labelsChanged: boolean }]>([
    ['nothing Endpoints show', {}, { podChanged: false, labelsChanged: false }],
    ['readiness', { ready: false }, { podChanged: true, labelsChanged: false }],
    ['the IP', { ip: '10.1.1.99' }, { podChanged: true, labelsChanged: false }],
    ['termination', { deleting: true }, { podChanged: true, labelsChanged: false }],
    ['labels', { labels: { app: 'other' } }, { podChanged: false, labelsChanged: true }],
    ['hostname', { hostname: 'h' }, { podChanged: false, labelsChanged: true }],
  ])('%s', (_what, change, want) => {
    expect(podEndpointsChanged(pod('a'), pod('a', change))).toEqual(want);
  });
});
