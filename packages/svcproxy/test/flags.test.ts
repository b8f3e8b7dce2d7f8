import { parseDurationMs, parseOptions } from '../src/flags.js';

describe('svcproxy flags', () => {
  it('default like kube-proxy: 1s min sync, 30s sync, healthz on 10256, iptables mode', () => {
    const o = parseOptions({ hostnameOverride: 'Node-1' });
    expect(o).toMatchObject({ proxyMode: 'iptables', minSyncPeriodMs: 1000, syncPeriodMs: 30_000, healthzPort: 10256, hostname: 'node-1', masqueradeAll: false, nodePortAddresses: [] });
  });

  it('parse durations', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('2')).toBe(2000);
  });

  it('name the flag in one line when a value is bad', () => {
    expect(() => parseOptions({ proxyMode: 'ipvs' })).toThrow(/^--proxy-mode: "ipvs"/);
    expect(() => parseOptions({ minSyncPeriod: 'soon' })).toThrow(/^--min-sync-period: not a duration/);
    expect(() => parseOptions({ clusterCidr: '10.1.0.0/40' })).toThrow(/^--cluster-cidr:/);
    expect(() => parseOptions({ nodeportAddresses: '192.168.0.0/24,nope' })).toThrow(/^--nodeport-addresses:/);
    expect(() => parseOptions({ healthzPort: '70000' })).toThrow(/^--healthz-port:/);
    expect(() => parseOptions({ minSyncPeriod: '1m', syncPeriod: '30s' })).toThrow(/^--sync-period:/);
  });

  it('normalise CIDR lists', () => {
    expect(parseOptions({ nodeportAddresses: ' 192.168.0.0/24 , 10.9.9.9/32' }).nodePortAddresses).toEqual(['192.168.0.0/24', '10.9.9.9/32']);
  });
});
