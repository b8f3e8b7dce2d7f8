import type { Pod } from '@pilot/api';
import { parseResolvConf, podDnsConfig } from '../../src/kubelet/dns.js';

const cluster = { servers: ['10.0.0.10'], domain: 'cluster.local' };
const host = parseResolvConf('# host\nnameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch example.com corp.example.com\noptions timeout:2\n');
const pod = (spec: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({ metadata: { name: 'p', namespace: 'web' }, spec: { containers: [], ...spec } });

describe('pod resolv.conf by dnsPolicy', () => {
  it('ClusterFirst: the cluster DNS, the namespace search path then the host’s, ndots:5', () => {
    expect(podDnsConfig(pod(), cluster, host)).toEqual({
      servers: ['10.0.0.10'],
      searches: ['web.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.com', 'corp.example.com'],
      options: ['ndots:5'],
    });
  });
  it('Default, and ClusterFirst on the host network or without --cluster-dns: the host’s resolv.conf', () => {
    const expected = { servers: ['192.168.1.1', '192.168.1.2'], searches: ['example.com', 'corp.example.com'], options: ['timeout:2'] };
    expect(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster, host)).toEqual(expected);
    expect(podDnsConfig(pod({ hostNetwork: true }), cluster, host)).toEqual(expected);
    expect(podDnsConfig(pod(), { servers: [], domain: 'cluster.local' }, host)).toEqual(expected);
    expect(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster, host).servers).toEqual(['10.0.0.10']);
  });
  it('None: only dnsConfig; dnsConfig is merged into the others (a later option of one name wins)', () => {
    expect(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }] } }), cluster, host)).toEqual({
      servers: ['1.1.1.1'],
      searches: ['a.b'],
      options: ['ndots:2'],
    });
    expect(podDnsConfig(pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }, { name: 'edns0' }] } }), cluster, host).options).toEqual(['ndots:1', 'edns0']);
  });
});
