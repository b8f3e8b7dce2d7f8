import { Cidr } from '@pilot/common';
import { hostGwDesired } from '../src/backend/hostgw.js';
import { vxlanDesired } from '../src/backend/vxlan.js';
import type { Lease } from '../src/lease.js';
import { diffEntries, diffSize, emptyEntries } from '../src/reconcile.js';

const underlay = { index: 2, name: 'eth0', network: Cidr.parse('172.30.0.0/24') };
const lease = (subnet: string, publicIp: string, mac?: string, type = 'vxlan'): Lease => ({
  subnet: Cidr.parse(subnet),
  attrs: { PublicIP: publicIp, BackendType: type, ...(mac ? { BackendData: { VtepMAC: mac } } : {}) },
  leaseId: '1',
  modRevision: '1',
});

describe('vxlan desired state', () => {
  it('wants a neighbour, an FDB entry and an onlink route per remote lease', () => {
    const d = vxlanDesired([lease('10.1.5.0/24', '172.30.0.12', '02:AA:00:00:00:05')], { deviceIndex: 7, underlay, directRouting: false });
    expect(d.entries).toEqual({
      neighs: [{ ip: '10.1.5.0', mac: '02:aa:00:00:00:05', ifindex: 7 }],
      fdb: [{ mac: '02:aa:00:00:00:05', dst: '172.30.0.12', ifindex: 7 }],
      routes: [{ dst: '10.1.5.0/24', gateway: '10.1.5.0', ifindex: 7, onlink: true }],
    });
    expect(d.skipped).toEqual([]);
  });

  it('routes same-segment peers directly with DirectRouting, and encapsulates the rest', () => {
    const d = vxlanDesired(
      [lease('10.1.5.0/24', '172.30.0.12', '02:00:00:00:00:05'), lease('10.1.6.0/24', '192.0.2.9', '02:00:00:00:00:06')],
      { deviceIndex: 7, underlay, directRouting: true },
    );
    expect(d.entries.routes).toEqual([
      { dst: '10.1.5.0/24', gateway: '172.30.0.12', ifindex: 2, onlink: false },
      { dst: '10.1.6.0/24', gateway: '10.1.6.0', ifindex: 7, onlink: true },
    ]);
    expect(d.entries.fdb).toEqual([{ mac: '02:00:00:00:00:06', dst: '192.0.2.9', ifindex: 7 }]);
  });

  it('skips leases of another backend or without a VTEP MAC, saying why', () => {
    const d = vxlanDesired([lease('10.1.5.0/24', '172.30.0.12', undefined), lease('10.1.6.0/24', '172.30.0.13', undefined, 'host-gw')], {
      deviceIndex: 7,
      underlay,
      directRouting: false,
    });
    expect(d.entries).toEqual(emptyEntries());
    expect(d.skipped.map((s) => s.reason)).toEqual(['lease has no valid BackendData.VtepMAC (undefined)', 'backend "host-gw" is not vxlan']);
  });
});

describe('host-gw desired state', () => {
  it('wants a route via each peer\'s public IP, and reports peers off the segment', () => {
    const d = hostGwDesired([lease('10.1.5.0/24', '172.30.0.12', undefined, 'host-gw'), lease('10.1.6.0/24', '192.0.2.9', undefined, 'host-gw')], underlay);
    expect(d.entries.routes).toEqual([{ dst: '10.1.5.0/24', gateway: '172.30.0.12', ifindex: 2, onlink: false }]);
    expect(d.skipped[0]!.reason).toBe('peer 192.0.2.9 is not directly reachable on eth0 (172.30.0.0/24); host-gw needs hosts on one L2 segment');
  });
});

describe('diff of desired and actual kernel entries', () => {
  const want = vxlanDesired([lease('10.1.5.0/24', '172.30.0.12', '02:00:00:00:00:05')], { deviceIndex: 7, underlay, directRouting: false }).entries;

  it('is empty when the kernel matches', () => {
    expect(diffSize(diffEntries(want, structuredClone(want)))).toBe(0);
  });

  it('restores what was deleted by hand', () => {
    const actual = structuredClone(want);
    actual.routes = [];
    const d = diffEntries(want, actual);
    expect(d.routes.add).toEqual(want.routes);
    expect(diffSize(d)).toBe(1);
  });

  it('removes entries no lease backs (left from before a restart)', () => {
    const actual = structuredClone(want);
    actual.routes.push({ dst: '10.1.9.0/24', gateway: '10.1.9.0', ifindex: 7, onlink: true });
    actual.neighs.push({ ip: '10.1.9.0', mac: '02:00:00:00:00:09', ifindex: 7 });
    actual.fdb.push({ mac: '02:00:00:00:00:09', dst: '172.30.0.19', ifindex: 7 });
    const d = diffEntries(want, actual);
    expect(d.routes.del).toEqual([{ dst: '10.1.9.0/24', gateway: '10.1.9.0', ifindex: 7, onlink: true }]);
    expect(d.neighs.del).toHaveLength(1);
    expect(d.fdb.del).toHaveLength(1);
    expect(d.routes.add).toEqual([]);
  });

  it('replaces an entry whose peer changed (new MAC after a reboot) as one removal and one addition', () => {
    const actual = structuredClone(want);
    actual.neighs[0]!.mac = '02:00:00:00:00:99';
    const d = diffEntries(want, actual);
    expect(d.neighs.del[0]!.mac).toBe('02:00:00:00:00:99');
    expect(d.neighs.add[0]!.mac).toBe('02:00:00:00:00:05');
  });
});
