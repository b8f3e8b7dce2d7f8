import { Cidr } from '@pilot/common';
import { parseNetworkConfig } from '../src/config.js';
import { bridgeAddress, chooseSubnet, freeSubnets, parseLeaseAttrs, parseSubnetKeyName, subnetKeyName, type Lease } from '../src/lease.js';

const config = parseNetworkConfig('{"Network":"10.1.0.0/16"}');
const lease = (subnet: string, publicIp: string): Lease => ({
  subnet: Cidr.parse(subnet),
  attrs: { PublicIP: publicIp, BackendType: 'vxlan', BackendData: { VtepMAC: '02:00:00:00:00:01' } },
  leaseId: '1',
  modRevision: '5',
});

describe('lease keys and values', () => {
  it('names keys like flannel: a.b.c.d-len', () => {
    expect(subnetKeyName(Cidr.parse('10.1.5.0/24'))).toBe('10.1.5.0-24');
    expect(parseSubnetKeyName('10.1.5.0-24')?.toString()).toBe('10.1.5.0/24');
    expect(parseSubnetKeyName('10.1.5.0-24&fd00::-64')).toBeUndefined();
    expect(parseSubnetKeyName('config')).toBeUndefined();
    expect(parseSubnetKeyName('10.1.5.1-24')).toBeUndefined();
  });

  it('reads flannel\'s lease JSON and refuses values without a usable PublicIP', () => {
    const attrs = parseLeaseAttrs('{"PublicIP":"172.30.0.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}');
    expect(attrs).toEqual({ PublicIP: '172.30.0.11', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' } });
    expect(() => parseLeaseAttrs('{"PublicIP":"nope"}')).toThrow(/PublicIP "nope" is not an IPv4 address/);
    expect(() => parseLeaseAttrs('{')).toThrow(/malformed lease JSON/);
  });

  it('gives the bridge the .1 of the subnet', () => {
    expect(bridgeAddress(Cidr.parse('10.1.5.0/24'))).toBe('10.1.5.1/24');
  });
});

describe('choosing a subnet', () => {
  it('reuses the lease that already carries this host\'s public IP', () => {
    const mine = lease('10.1.9.0/24', '172.30.0.12');
    const choice = chooseSubnet({ config, leases: [lease('10.1.3.0/24', '172.30.0.11'), mine], publicIp: '172.30.0.12', previous: Cidr.parse('10.1.4.0/24') });
    expect(choice).toEqual({ kind: 'reuse', lease: mine });
  });

  it('ignores a lease of its public IP that no longer fits the config', () => {
    const c = parseNetworkConfig('{"Network":"10.1.0.0/16","SubnetMax":"10.1.8.0"}');
    const choice = chooseSubnet({ config: c, leases: [lease('10.1.9.0/24', '172.30.0.12')], publicIp: '172.30.0.12', random: () => 0 });
    expect(choice).toEqual({ kind: 'random', subnet: Cidr.parse('10.1.1.0/24') });
  });

  it('takes the subnet from the previous subnet.env when it is free', () => {
    expect(chooseSubnet({ config, leases: [], publicIp: '172.30.0.12', previous: Cidr.parse('10.1.4.0/24') })).toEqual({ kind: 'previous', subnet: Cidr.parse('10.1.4.0/24') });
  });

  it('does not take the previous subnet when another host holds it, or when it is outside the config', () => {
    const taken = chooseSubnet({ config, leases: [lease('10.1.4.0/24', '172.30.0.11')], publicIp: '172.30.0.12', previous: Cidr.parse('10.1.4.0/24'), random: () => 0 });
    expect(taken).toEqual({ kind: 'random', subnet: Cidr.parse('10.1.1.0/24') });
    const outside = chooseSubnet({ config, leases: [], publicIp: '172.30.0.12', previous: Cidr.parse('10.2.4.0/24'), random: () => 0 });
    expect(outside.kind).toBe('random');
  });

  it('picks randomly among the first 100 free subnets, skipping taken ones', () => {
    const leases = [lease('10.1.1.0/24', '172.30.0.11'), lease('10.1.2.0/24', '172.30.0.12')];
    expect(chooseSubnet({ config, leases, publicIp: '172.30.0.99', random: () => 0 })).toEqual({ kind: 'random', subnet: Cidr.parse('10.1.3.0/24') });
    expect(chooseSubnet({ config, leases, publicIp: '172.30.0.99', random: () => 0.999 })).toEqual({ kind: 'random', subnet: Cidr.parse('10.1.102.0/24') });
  });

  it('treats a lease of another size that overlaps a candidate as taking it', () => {
    const free = freeSubnets(config, [{ ...lease('10.1.0.0/22', '172.30.0.11') }], 3);
    expect(free.map(String)).toEqual(['10.1.4.0/24', '10.1.5.0/24', '10.1.6.0/24']);
  });

  it('reports a full network', () => {
    const small = parseNetworkConfig('{"Network":"10.9.0.0/28","SubnetLen":30}');
    const leases = ['10.9.0.4/30', '10.9.0.8/30', '10.9.0.12/30'].map((s, i) => lease(s, `192.0.2.${i + 1}`));
    expect(chooseSubnet({ config: small, leases, publicIp: '172.30.0.11' })).toEqual({ kind: 'full' });
  });
});
