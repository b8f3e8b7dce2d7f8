import { Cidr } from '@pilot/common';
import { FlagError, parseOptions, renewIntervalSeconds } from '../src/flags.js';
import { chooseUnderlay } from '../src/underlay.js';
import type { AddressInfo, LinkInfo } from '../src/netlink.js';

describe('flags', () => {
  it('has flannel\'s defaults', () => {
    const o = parseOptions({});
    expect(o.etcdEndpoints).toEqual(['http://127.0.0.1:2379']);
    expect(o.etcdPrefix).toBe('/coreos.com/network');
    expect(o.subnetFile).toBe('/run/flannel/subnet.env');
    expect(o.subnetLeaseTtl).toBe(86_400);
    expect(o.healthzPort).toBe(9199);
    expect(o.ipMasq).toBe(false);
  });

  it('splits comma-separated endpoints and trims the prefix', () => {
    const o = parseOptions({ etcdEndpoints: 'http://10.0.0.1:2379, http://10.0.0.2:2379', etcdPrefix: '/my/net/' });
    expect(o.etcdEndpoints).toEqual(['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    expect(o.etcdPrefix).toBe('/my/net');
  });

  it.each([
    [{ etcdEndpoints: 'tcp://10.0.0.1:2379' }, '--etcd-endpoints: "tcp://10.0.0.1:2379" must use http:// or https://'],
    [{ etcdEndpoints: 'not a url' }, '--etcd-endpoints: "not a url" is not a URL (want http://host:port)'],
    [{ etcdPrefix: 'coreos.com' }, '--etcd-prefix: "coreos.com" must start with /'],
    [{ publicIp: '10.0.0' }, '--public-ip: "10.0.0" is not an IPv4 address'],
    [{ healthzPort: '70000' }, '--healthz-port: "70000" is not an integer in 0..65535'],
    [{ subnetLeaseTtl: 'forever' }, '--subnet-lease-ttl: "forever" is not a duration (want e.g. 500ms, 30s, 15m, 24h)'],
    [{ subnetLeaseTtl: '1s' }, '--subnet-lease-ttl: 1s is outside 5s..168h'],
  ])('rejects %j with one line', (raw, message) => {
    expect(() => parseOptions(raw)).toThrow(FlagError);
    expect(() => parseOptions(raw)).toThrow(message);
  });

  it("takes flanneld's etcd TLS and user flags, and then wants https:// endpoints", () => {
    const pem = new URL('../package.json', import.meta.url).pathname; // any readable file
    const o = parseOptions({ etcdEndpoints: 'https://10.0.0.1:2379', etcdCafile: pem, etcdCertfile: pem, etcdKeyfile: pem, etcdUsername: 'flannel', etcdPassword: 'pw' });
    expect(o.etcdTls).toEqual({ caFile: pem, certFile: pem, keyFile: pem });
    expect(o.etcdAuth).toEqual({ username: 'flannel', password: 'pw' });
    expect(parseOptions({}).etcdTls).toBeUndefined();
    expect(() => parseOptions({ etcdCafile: pem })).toThrow('--etcd-endpoints: "http://127.0.0.1:2379" is not https://');
    expect(() => parseOptions({ etcdEndpoints: 'https://e:2379', etcdCafile: '/nonexistent.crt' })).toThrow('--etcd-cafile: /nonexistent.crt cannot be read: ENOENT');
    expect(() => parseOptions({ etcdUsername: 'flannel' })).toThrow('--etcd-password: missing');
  });

  it('reads durations the way operators write them', () => {
    expect(parseOptions({ subnetLeaseTtl: '1h30m' }).subnetLeaseTtl).toBe(5_400);
    expect(parseOptions({ reconcileInterval: '500ms' }).reconcileIntervalMs).toBe(500);
  });

  it('renews day-long leases an hour before expiry and short ones at a third of their TTL', () => {
    expect(renewIntervalSeconds(86_400)).toBe(82_800);
    expect(renewIntervalSeconds(6)).toBe(2);
  });
});

describe('choosing the external interface', () => {
  const link = (index: number, name: string): LinkInfo => ({ index, name, mtu: 1500, mac: '', up: true, kind: undefined, vxlan: undefined });
  const links = [link(1, 'lo'), link(2, 'eth0'), link(3, 'eth1')];
  const addrs: AddressInfo[] = [
    { ifindex: 1, ip: '127.0.0.1', prefix: 8 },
    { ifindex: 2, ip: '172.30.0.11', prefix: 24 },
    { ifindex: 3, ip: '192.168.7.5', prefix: 16 },
  ];

  it('uses the default route\'s interface when no flag says otherwise', () => {
    const { underlay, publicIp } = chooseUnderlay(links, addrs, 2, {});
    expect(underlay).toEqual({ name: 'eth0', index: 2, mtu: 1500, ip: '172.30.0.11', network: Cidr.parse('172.30.0.0/24') });
    expect(publicIp).toBe('172.30.0.11');
  });

  it('takes --iface as a name or an address, and --public-ip for the lease', () => {
    expect(chooseUnderlay(links, addrs, 2, { iface: 'eth1' }).underlay.ip).toBe('192.168.7.5');
    expect(chooseUnderlay(links, addrs, 2, { iface: '192.168.7.5' }).underlay.name).toBe('eth1');
    expect(chooseUnderlay(links, addrs, 2, { iface: 'eth0', publicIp: '203.0.113.4' }).publicIp).toBe('203.0.113.4');
  });

  it('names an interface that does not exist', () => {
    expect(() => chooseUnderlay(links, addrs, 2, { iface: 'eth9' })).toThrow('--iface eth9: no such interface (have: lo, eth0, eth1)');
    expect(() => chooseUnderlay(links, addrs, undefined, {})).toThrow('no default route to pick the external interface from; pass --iface');
  });
});
