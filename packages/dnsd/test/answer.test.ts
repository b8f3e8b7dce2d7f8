import { Rcode, Type } from '../src/index.js';
import { rig } from './fixtures.js';

const Z = 'cluster.local';
const SOA_SERIAL = 1_700_000_000;

describe('answers for the cluster zone (question → complete response)', () => {
  const r = rig();

  const positives: [string, string, number, unknown[]][] = [
    ['ClusterIP A', `frontend.default.svc.${Z}`, Type.A, [{ type: Type.A, address: '10.0.0.50', ttl: 5 }]],
    ['dual-stack AAAA', `dual.default.svc.${Z}`, Type.AAAA, [{ type: Type.AAAA, address: 'fd00::60' }]],
    ['dual-stack A', `dual.default.svc.${Z}`, Type.A, [{ type: Type.A, address: '10.0.0.60' }]],
    ['headless A: one record per ready endpoint', `db.default.svc.${Z}`, Type.A, [{ address: '10.1.1.5' }, { address: '10.1.2.6' }]],
    ['endpoint hostname', `db-0.db.default.svc.${Z}`, Type.A, [{ address: '10.1.1.5' }]],
    ['dashed-IP endpoint name', `10-1-2-6.db.default.svc.${Z}`, Type.A, [{ address: '10.1.2.6' }]],
    ['ClusterIP SRV for a named port', `_http._tcp.frontend.default.svc.${Z}`, Type.SRV, [{ priority: 0, weight: 100, port: 8888, target: `frontend.default.svc.${Z}` }]],
    ['SRV by protocol', `_dns._udp.dual.default.svc.${Z}`, Type.SRV, [{ port: 53, target: `dual.default.svc.${Z}` }]],
    [
      'headless SRV: N endpoints x M ports, weight 100/N',
      `_pg._tcp.db.default.svc.${Z}`,
      Type.SRV,
      [
        { priority: 0, weight: 50, port: 5432, target: `db-0.db.default.svc.${Z}` },
        { priority: 0, weight: 50, port: 5432, target: `10-1-2-6.db.default.svc.${Z}` },
      ],
    ],
    ['PTR of a cluster IP', `50.0.0.10.in-addr.arpa`, Type.PTR, [{ domain: `frontend.default.svc.${Z}` }]],
    ['PTR of a headless endpoint', `5.1.1.10.in-addr.arpa`, Type.PTR, [{ domain: `db-0.db.default.svc.${Z}` }]],
    [
      'PTR of an IPv6 cluster IP',
      '0.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa',
      Type.PTR,
      [{ domain: `dual.default.svc.${Z}` }],
    ],
    ['ExternalName CNAME', `ext.default.svc.${Z}`, Type.A, [{ type: Type.CNAME, domain: 'example.com' }]],
    [
      'ExternalName pointing into the zone is chased',
      `alias.default.svc.${Z}`,
      Type.A,
      [{ type: Type.CNAME, domain: `frontend.default.svc.${Z}` }, { type: Type.A, address: '10.0.0.50' }],
    ],
    ['ANY of a service answers its addresses', `frontend.default.svc.${Z}`, Type.ANY, [{ type: Type.A, address: '10.0.0.50' }]],
    ['SRV of the service name lists its named ports', `frontend.default.svc.${Z}`, Type.SRV, [{ port: 8888, weight: 100, target: `frontend.default.svc.${Z}` }]],
    ['dns-version TXT', `dns-version.${Z}`, Type.TXT, [{ data: ['1.1.0'], ttl: 28800 }]],
    ['pod A (insecure)', `10-1-1-99.default.pod.${Z}`, Type.A, [{ address: '10.1.1.99' }]],
    ['apex SOA', Z, Type.SOA, [{ type: Type.SOA, primary: `ns.dns.${Z}`, minimum: 5 }]],
    ['apex NS', Z, Type.NS, [{ type: Type.NS, ns: `ns.dns.${Z}` }]],
    ['ns.dns A is dnsd itself', `ns.dns.${Z}`, Type.A, [{ address: '10.0.0.10' }]],
    ['names are case-insensitive, answered in the query case', `FrontEnd.Default.SVC.Cluster.Local`, Type.A, [{ name: 'FrontEnd.Default.SVC.Cluster.Local', address: '10.0.0.50' }]],
  ];

  it.each(positives)('%s', (_what, name, type, want) => {
    const d = r.ask(name, type);
    expect(d.rcode).toBe(Rcode.NOERROR);
    expect(d.aa).toBe(true);
    expect(d.authorities).toEqual([]);
    expect(d.answers).toHaveLength(want.length);
    want.forEach((w, i) => expect(d.answers[i]).toMatchObject(w as object));
  });

  const negatives: [string, string, number, 'NXDOMAIN' | 'NODATA'][] = [
    ['unknown service', `nope.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['unknown namespace', `frontend.nowhere.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['AAAA of an IPv4 service', `frontend.default.svc.${Z}`, Type.AAAA, 'NODATA'],
    ['TXT of a service', `frontend.default.svc.${Z}`, Type.TXT, 'NODATA'],
    ['MX of a service', `frontend.default.svc.${Z}`, Type.MX, 'NODATA'],
    ['headless service with no ready endpoints', `lonely.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['not-ready endpoint hostname', `db-2.db.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['unknown endpoint', `db-9.db.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['endpoint name under a ClusterIP service', `x.frontend.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['too many labels left of the service', `a.b.c.d.frontend.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['subdomain of an ExternalName', `x.ext.default.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['SRV of an unnamed port', `_9999._tcp.frontend.default.svc.${Z}`, Type.SRV, 'NXDOMAIN'],
    ['SRV with the wrong protocol', `_http._udp.frontend.default.svc.${Z}`, Type.SRV, 'NXDOMAIN'],
    ['A on an existing SRV name', `_http._tcp.frontend.default.svc.${Z}`, Type.A, 'NODATA'],
    ['apex A', Z, Type.A, 'NODATA'],
    ['svc.<zone>', `svc.${Z}`, Type.A, 'NODATA'],
    ['pod.<zone>', `pod.${Z}`, Type.A, 'NODATA'],
    ['existing namespace', `default.svc.${Z}`, Type.A, 'NODATA'],
    ['namespace without services but known', `empty.svc.${Z}`, Type.A, 'NODATA'],
    ['unknown namespace node', `nowhere.svc.${Z}`, Type.A, 'NXDOMAIN'],
    ['a name neither svc nor pod', `foo.${Z}`, Type.A, 'NXDOMAIN'],
    ['pod A in an unknown namespace', `10-1-1-99.nowhere.pod.${Z}`, Type.A, 'NXDOMAIN'],
    ['pod name that is no IP', `not-an-ip.default.pod.${Z}`, Type.A, 'NXDOMAIN'],
    ['AAAA of a pod IPv4 name', `10-1-1-99.default.pod.${Z}`, Type.AAAA, 'NODATA'],
    ['dns-version A', `dns-version.${Z}`, Type.A, 'NODATA'],
  ];

  it.each(negatives)('%s → %s with the zone SOA', (_what, name, type, kind) => {
    const d = r.ask(name, type);
    expect(d.rcode).toBe(kind === 'NXDOMAIN' ? Rcode.NXDOMAIN : Rcode.NOERROR);
    expect(d.aa).toBe(true);
    expect(d.answers).toEqual([]);
    expect(d.authorities).toEqual([
      expect.objectContaining({
        type: Type.SOA,
        name: 'cluster.local',
        ttl: 5,
        primary: 'ns.dns.cluster.local',
        admin: 'hostmaster.cluster.local',
        serial: SOA_SERIAL,
        refresh: 7200,
        retry: 1800,
        expiration: 86400,
        minimum: 5,
      }),
    ]);
  });

  it('SRV answers carry the targets\' addresses in the additional section', () => {
    const d = r.ask(`_pg._tcp.db.default.svc.${Z}`, Type.SRV);
    expect(d.additionals).toEqual([
      expect.objectContaining({ name: `db-0.db.default.svc.${Z}`, type: Type.A, address: '10.1.1.5' }),
      expect.objectContaining({ name: `10-1-2-6.db.default.svc.${Z}`, type: Type.A, address: '10.1.2.6' }),
    ]);
  });

  it('SRV weight is floor(100/N) as CoreDNS: six records get 16', () => {
    const eps = Array.from({ length: 6 }, (_, i) => ({ ip: `10.1.0.${i + 1}` }));
    const big = rig({
      objects: [
        { kind: 'Service', metadata: { name: 'six', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'web', port: 80 }] } },
        { kind: 'Endpoints', metadata: { name: 'six', namespace: 'default' }, subsets: [{ addresses: eps, ports: [{ name: 'web', port: 80 }] }] },
      ],
    });
    const d = big.ask(`_web._tcp.six.default.svc.${Z}`, Type.SRV);
    expect(d.answers).toHaveLength(6);
    for (const a of d.answers) expect(a).toMatchObject({ priority: 0, weight: 16, port: 80 });
  });

  it('pods disabled answers NXDOMAIN for pod names', () => {
    const d = rig({ pods: 'disabled' }).ask(`10-1-1-99.default.pod.${Z}`, Type.A);
    expect(d.rcode).toBe(Rcode.NXDOMAIN);
  });

  it('uses the configured TTL for records and the SOA minimum', () => {
    const t = rig({ ttl: 30 });
    expect(t.ask(`frontend.default.svc.${Z}`, Type.A).answers[0]).toMatchObject({ ttl: 30 });
    expect(t.ask(`nope.default.svc.${Z}`, Type.A).authorities[0]).toMatchObject({ ttl: 30, minimum: 30 });
  });

  it('zone transfers are refused', () => {
    expect(r.ask(Z, Type.AXFR).rcode).toBe(Rcode.REFUSED);
  });

  it('before the first sync, cluster names get SERVFAIL', () => {
    const u = rig({ synced: false });
    const d = u.ask(`frontend.default.svc.${Z}`, Type.A);
    expect(d.rcode).toBe(Rcode.SERVFAIL);
    u.index.markSynced();
    expect(u.ask(`frontend.default.svc.${Z}`, Type.A).rcode).toBe(Rcode.NOERROR);
  });

  it('publishNotReadyAddresses publishes not-ready endpoints', () => {
    const p = rig({
      objects: [
        { kind: 'Service', metadata: { name: 'ss', namespace: 'default' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true } },
        { kind: 'Endpoints', metadata: { name: 'ss', namespace: 'default' }, subsets: [{ notReadyAddresses: [{ ip: '10.1.1.1', hostname: 'ss-0' }] }] },
      ],
    });
    expect(p.ask(`ss-0.ss.default.svc.${Z}`, Type.A).answers).toEqual([expect.objectContaining({ address: '10.1.1.1' })]);
  });

  it('EndpointSlices: a nil ready condition counts as ready, ready=false does not', () => {
    const s = rig({
      objects: [
        { kind: 'Service', metadata: { name: 'sl', namespace: 'default' }, spec: { clusterIP: 'None' } },
        {
          kind: 'EndpointSlice',
          metadata: { name: 'sl-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'sl' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.1.4.1'] }, { addresses: ['10.1.4.2'], conditions: { ready: false } }],
          ports: [{ name: 'x', port: 1, protocol: 'TCP' }],
        },
      ],
    });
    expect(s.ask(`sl.default.svc.${Z}`, Type.A).answers.map((a) => a.address)).toEqual(['10.1.4.1']);
  });

  it('reverse names outside the cluster are not answered from the zone', async () => {
    // No forwarder and a disallowed source: REFUSED rather than a made-up NXDOMAIN.
    const d = r.ask('1.1.168.192.in-addr.arpa', Type.PTR, { remote: '192.0.2.1' });
    expect(d.rcode).toBe(Rcode.REFUSED);
  });
});
