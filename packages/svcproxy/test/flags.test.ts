import { parseOptions } from '../src/flags.js';

describe('svcproxy flags', () => {
  it('default like kube-proxy: 1s min sync, 30s sync, healthz on 10256, iptables mode', () => {
    const o = parseOptions({ hostnameOverride: 'Node-1' });
    expect(o).toMatchObject({ proxyMode: 'iptables', minSyncPeriodMs: 1000, syncPeriodMs: 30_000, healthzPort: 10256, hostname: 'node-1', masqueradeAll: false, nodePortAddresses: [] });
  });

  it('parse durations', () => {
    expect(parseOptions({ minSyncPeriod: '500ms', syncPeriod: '1m30s' })).toMatchObject({ minSyncPeriodMs: 500, syncPeriodMs: 90_000 });
    expect(parseOptions({ syncPeriod: '2' }).syncPeriodMs).toBe(2000);
  });

  it('select the userspace mode with a concrete bind address and a UDP idle timeout', () => {
    expect(parseOptions({ proxyMode: 'userspace', bindAddress: '10.9.0.1', udpTimeout: '1s' })).toMatchObject({ proxyMode: 'userspace', bindAddress: '10.9.0.1', udpTimeoutMs: 1000 });
    expect(parseOptions({}).udpTimeoutMs).toBe(250);
    expect(() => parseOptions({ proxyMode: 'userspace', bindAddress: '0.0.0.0' })).toThrow(/^--bind-address: must be a concrete local address/);
  });

  it('name the flag in one line when a value is bad', () => {
    expect(() => parseOptions({ proxyMode: 'ipvs' })).toThrow(/^--proxy-mode: "ipvs"/);
    expect(() => parseOptions({ minSyncPeriod: 'soon' })).toThrow(/^--min-sync-period: "soon" is not a duration/);
    expect(() => parseOptions({ clusterCidr: '10.1.0.0/40' })).toThrow(/^--cluster-cidr:/);
    expect(() => parseOptions({ nodeportAddresses: '192.168.0.0/24,nope' })).toThrow(/^--nodeport-addresses:/);
    expect(() => parseOptions({ healthzPort: '70000' })).toThrow(/^--healthz-port:/);
    expect(() => parseOptions({ minSyncPeriod: '1m', syncPeriod: '30s' })).toThrow(/^--sync-period:/);
  });

  it('normalise CIDR lists', () => {
    expect(parseOptions({ nodeportAddresses: ' 192.168.0.0/24 , 10.9.9.9/32' }).nodePortAddresses).toEqual(['192.168.0.0/24', '10.9.9.9/32']);
  });
});
