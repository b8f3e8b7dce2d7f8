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
    expect(parseOptions({}).maxConnectionsPerSource).toBe(1024);
    expect(parseOptions({ maxConnectionsPerSource: '0' }).maxConnectionsPerSource).toBe(0);
    expect(() => parseOptions({ maxConnectionsPerSource: '-1' })).toThrow(/^--max-connections-per-source:/);
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

  it('take kube-proxy’s own spellings: --iptables-(min-)sync-period, ip:port health address, metrics on 127.0.0.1:10249', () => {
    expect(parseOptions({})).toMatchObject({ healthzBindAddress: '0.0.0.0', healthzPort: 10256, metricsBindAddress: '127.0.0.1', metricsPort: 10249 });
    expect(parseOptions({ iptablesSyncPeriod: '10s', iptablesMinSyncPeriod: '2s' })).toMatchObject({ syncPeriodMs: 10_000, minSyncPeriodMs: 2000 });
    expect(parseOptions({ healthzBindAddress: '0.0.0.0:10266' })).toMatchObject({ healthzBindAddress: '0.0.0.0', healthzPort: 10266 });
    expect(parseOptions({ healthzBindAddress: '10.0.0.1', healthzPort: '9000' })).toMatchObject({ healthzBindAddress: '10.0.0.1', healthzPort: 9000 });
    expect(parseOptions({ metricsBindAddress: '[::1]:9100' })).toMatchObject({ metricsBindAddress: '::1', metricsPort: 9100 });
    expect(parseOptions({ metricsBindAddress: '0.0.0.0:0' }).metricsPort).toBe(0);
    // The same setting under both names must agree.
    expect(parseOptions({ syncPeriod: '10s', iptablesSyncPeriod: '10s' }).syncPeriodMs).toBe(10_000);
    expect(() => parseOptions({ syncPeriod: '10s', iptablesSyncPeriod: '20s' })).toThrow(/^--iptables-sync-period: "20s" contradicts --sync-period "10s"/);
    expect(() => parseOptions({ iptablesMinSyncPeriod: 'soon' })).toThrow(/^--iptables-min-sync-period: "soon" is not a duration/);
    expect(() => parseOptions({ healthzBindAddress: '0.0.0.0:10256', healthzPort: '9000' })).toThrow(/^--healthz-port: 9000 contradicts/);
    expect(() => parseOptions({ healthzBindAddress: 'localhost:10256' })).toThrow(/^--healthz-bind-address: "localhost" is not an IP address/);
    expect(() => parseOptions({ metricsBindAddress: '127.0.0.1' })).toThrow(/^--metrics-bind-address: "127.0.0.1" is not ip:port/);
    expect(() => parseOptions({ metricsBindAddress: '127.0.0.1:99999' })).toThrow(/^--metrics-bind-address:/);
  });

  it('normalise CIDR lists', () => {
    expect(parseOptions({ nodeportAddresses: ' 192.168.0.0/24 , 10.9.9.9/32' }).nodePortAddresses).toEqual(['192.168.0.0/24', '10.9.9.9/32']);
  });
});
