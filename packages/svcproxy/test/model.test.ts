import { endpointsFromEndpoints, endpointsFromSlices, servicePortsFromService, stateFromObjects, type ServiceLike } from '../src/model.js';

const svc = (spec: ServiceLike['spec'], status?: ServiceLike['status']): ServiceLike => ({ metadata: { namespace: 'web', name: 'front' }, spec, status });

describe('service conversion', () => {
  it('yields one service port per port with IPs, nodePort and affinity', () => {
    const ports = servicePortsFromService(
      svc(
        {
          type: 'LoadBalancer',
          clusterIP: '10.0.0.20',
          ports: [
            { name: 'http', port: 80, nodePort: 30080 },
            { name: 'dns', port: 53, protocol: 'UDP' },
          ],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
          externalIPs: ['192.0.2.10'],
        },
        { loadBalancer: { ingress: [{ ip: '192.0.2.20' }, { hostname: 'lb.example' }] } },
      ),
    );
    expect(ports).toEqual([
      {
        namespace: 'web',
        name: 'front',
        portName: 'http',
        protocol: 'TCP',
        clusterIP: '10.0.0.20',
        port: 80,
        nodePort: 30080,
        externalIPs: ['192.0.2.10'],
        loadBalancerIPs: ['192.0.2.20'],
        sessionAffinity: 'ClientIP',
        stickySeconds: 60,
      },
      expect.objectContaining({ portName: 'dns', protocol: 'UDP', port: 53, stickySeconds: 60 }),
    ]);
    expect(ports[1]).not.toHaveProperty('nodePort');
  });

  it('gives headless and ExternalName services no ports', () => {
    expect(servicePortsFromService(svc({ clusterIP: 'None', ports: [{ port: 80 }] }))).toEqual([]);
    expect(servicePortsFromService(svc({ type: 'ExternalName', ports: [{ port: 80 }] }))).toEqual([]);
    expect(servicePortsFromService(svc({ ports: [{ port: 80 }] }))).toEqual([]);
  });

  it('skips an invalid port with a warning naming the service, keeping the others', () => {
    const warnings: string[] = [];
    const ports = servicePortsFromService(
      svc({ clusterIP: '10.0.0.20', ports: [{ name: 'bad', port: 70000 }, { name: 'ok', port: 8080 }, { name: 'proto', port: 81, protocol: 'ICMP' }] }),
      (m) => warnings.push(m),
    );
    expect(ports.map((p) => p.portName)).toEqual(['ok']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('web/front');
    expect(warnings[0]).toContain('bad');
    expect(warnings[1]).toContain('ICMP');
  });

  it('skips a service with an invalid cluster IP and says so', () => {
    const warnings: string[] = [];
    expect(servicePortsFromService(svc({ clusterIP: '10.0.0.300', ports: [{ port: 80 }] }), (m) => warnings.push(m))).toEqual([]);
    expect(warnings[0]).toMatch(/web\/front.*clusterIP/);
  });
});

describe('traffic policies', () => {
  const lb = (over: NonNullable<ServiceLike['spec']> = {}) =>
    svc({ type: 'LoadBalancer', clusterIP: '10.0.0.20', ports: [{ name: 'http', port: 80, nodePort: 30080 }], ...over }, { loadBalancer: { ingress: [{ ip: '192.0.2.20' }] } });

  it('carries Local policies, source ranges and the health-check port', () => {
    const [p] = servicePortsFromService(
      lb({ externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['198.51.100.7/24', '203.0.113.7/32'], healthCheckNodePort: 32000 }),
    );
    expect(p).toMatchObject({
      externalPolicyLocal: true,
      internalPolicyLocal: true,
      loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.7/32'],
      healthCheckNodePort: 32000,
    });
  });

  it('leaves Cluster policies out, and serves no health check without a Local LoadBalancer', () => {
    const [p] = servicePortsFromService(lb({ externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000 }));
    expect(p).not.toHaveProperty('externalPolicyLocal');
    expect(p).not.toHaveProperty('internalPolicyLocal');
    expect(p).not.toHaveProperty('healthCheckNodePort');
    const [np] = servicePortsFromService(svc({ type: 'NodePort', clusterIP: '10.0.0.20', ports: [{ port: 80, nodePort: 30080 }], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }));
    expect(np).toMatchObject({ externalPolicyLocal: true });
    expect(np).not.toHaveProperty('healthCheckNodePort');
  });

  it('skips a service with a bad policy, source range or health-check port, naming it; others keep their rules', () => {
    for (const bad of [
      { externalTrafficPolicy: 'Nearby' },
      { internalTrafficPolicy: 'local' },
      { loadBalancerSourceRanges: ['10.0.0.0/33'] },
      { loadBalancerSourceRanges: ['not-a-cidr'] },
      { externalTrafficPolicy: 'Local', healthCheckNodePort: 70000 },
    ]) {
      const warnings: string[] = [];
      const state = stateFromObjects(
        [lb(bad), { metadata: { namespace: 'web', name: 'other' }, spec: { clusterIP: '10.0.0.21', ports: [{ port: 80 }] } }],
        [],
        'h1',
        (w) => warnings.push(w),
      );
      expect({ bad, keys: [...state.services.keys()] }).toEqual({ bad, keys: ['web/other'] });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^service web\/front: .*skipped$/);
    }
  });
});

describe('endpoints conversion', () => {
  it('crosses ready addresses with ports, keyed by port name, sorted', () => {
    const m = endpointsFromEndpoints(
      {
        metadata: { namespace: 'web', name: 'front' },
        subsets: [
          {
            addresses: [{ ip: '10.1.2.5', nodeName: 'h2' }, { ip: '10.1.1.3', nodeName: 'h1' }],
            notReadyAddresses: [{ ip: '10.1.1.9' }],
            ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }],
          },
        ],
      },
      'h1',
    );
    expect([...m.keys()].sort()).toEqual(['web/front:dns', 'web/front:http']);
    expect(m.get('web/front:http')).toEqual([
      { ip: '10.1.1.3', port: 8080, ready: true, isLocal: true },
      { ip: '10.1.2.5', port: 8080, ready: true, isLocal: false },
    ]);
  });

  it('skips invalid and loopback addresses with a warning naming the object', () => {
    const warnings: string[] = [];
    const m = endpointsFromEndpoints(
      { metadata: { namespace: 'web', name: 'front' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }, { ip: 'bogus' }, { ip: '10.1.1.3' }], ports: [{ port: 80 }] }] },
      undefined,
      (w) => warnings.push(w),
    );
    expect(m.get('web/front')).toEqual([{ ip: '10.1.1.3', port: 80, ready: true }]);
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w.includes('web/front'))).toBe(true);
  });

  it('matches endpoint ports to service ports by name, not number', () => {
    const state = stateFromObjects(
      [svc({ clusterIP: '10.0.0.20', ports: [{ name: 'http', port: 80 }, { name: 'admin', port: 81 }] })],
      [{ metadata: { namespace: 'web', name: 'front' }, subsets: [{ addresses: [{ ip: '10.1.1.3' }], ports: [{ name: 'admin', port: 9000 }] }] }],
    );
    expect(state.endpoints.get('web/front:admin')).toEqual([{ ip: '10.1.1.3', port: 9000, ready: true }]);
    expect(state.endpoints.get('web/front:http')).toBeUndefined();
  });
});

describe('endpoint slice conversion', () => {
  const slice = (name: string, endpoints: { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }[], ports = [{ name: 'http', port: 8080 }]) => ({
    metadata: { namespace: 'web', name, labels: { 'kubernetes.io/service-name': 'front' } },
    addressType: 'IPv4',
    endpoints,
    ports,
  });

  it('merges the slices of a service, ready when the condition is unset, sorted and de-duplicated', () => {
    const m = endpointsFromSlices(
      [
        slice('front-a', [{ addresses: ['10.1.2.5'], nodeName: 'h2' }, { addresses: ['10.1.1.9'], conditions: { ready: false } }]),
        slice('front-b', [{ addresses: ['10.1.1.3'], nodeName: 'h1' }, { addresses: ['10.1.2.5'], nodeName: 'h2' }]),
      ],
      'h1',
    );
    expect(m.get('web/front:http')).toEqual([
      { ip: '10.1.1.3', port: 8080, ready: true, isLocal: true },
      { ip: '10.1.1.9', port: 8080, ready: false, isLocal: false },
      { ip: '10.1.2.5', port: 8080, ready: true, isLocal: false },
    ]);
  });

  it('skips loopback addresses and slices without the service-name label, with warnings', () => {
    const warnings: string[] = [];
    const m = endpointsFromSlices(
      [slice('front-a', [{ addresses: ['127.0.0.1'] }, { addresses: ['10.1.1.3'] }]), { metadata: { namespace: 'web', name: 'orphan' }, endpoints: [] }],
      undefined,
      (w) => warnings.push(w),
    );
    expect(m.get('web/front:http')).toEqual([{ ip: '10.1.1.3', port: 8080, ready: true }]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('web/front-a');
    expect(warnings[1]).toContain('web/orphan');
  });
});
