import { staleConntrack } from '../src/iptables/conntrack.js';
import { renderPartial } from '../src/iptables/partial.js';
import { buildServiceRules, type NodeConfig, type ServiceRules } from '../src/iptables/rules.js';
import type { EndpointInfo, ServicePortInfo } from '../src/model.js';
import { ep, sp } from './fixtures.js';

const cfg: NodeConfig = { clusterCIDR: '10.1.0.0/16', masqueradeAll: false, nodePortAddresses: [] };
const rules = (...rs: ServiceRules[]) => new Map(rs.map((r) => [r.key, r]));

describe('partial restore', () => {
  const a1 = buildServiceRules(sp('a'), [ep('10.1.1.2'), ep('10.1.2.2')], cfg);
  const a2 = buildServiceRules(sp('a'), [ep('10.1.1.2')], cfg);
  const b = buildServiceRules(sp('b', { clusterIP: '10.0.0.51' }), [ep('10.1.1.3')], cfg);

  it('rewrites only the changed service and deletes its stale endpoint chain', () => {
    const text = renderPartial(rules(a1, b), rules(a2, b), ['ns/a'])!;
    const declared = [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual([...a2.natChains.map((c) => c.name), a1.natChains[2]!.name].sort());
    expect(text).toContain(`-X ${a1.natChains[2]!.name}`);
    expect(text).not.toContain(b.natChains[0]!.name);
    // KUBE-SERVICES itself is not declared (so not flushed); its rule for "a" did not change.
    expect(text).not.toMatch(/^:KUBE-SERVICES/m);
    expect(text).not.toMatch(/KUBE-SERVICES/);
  });

  it('adds a new service with -I at position 1 so the nodeports jump stays last', () => {
    const text = renderPartial(rules(a1), rules(a1, b), ['ns/b'])!;
    expect(text).toMatch(/^-I KUBE-SERVICES 1 -d 10.0.0.51\/32 .* -j KUBE-SVC-/m);
  });

  it('swaps nat chains for a filter REJECT when the last endpoint goes', () => {
    const none = buildServiceRules(sp('b', { clusterIP: '10.0.0.51' }), [], cfg);
    const text = renderPartial(rules(b), rules(none), ['ns/b'])!;
    const lines = text.split('\n');
    expect(lines).toContain(`-X ${b.natChains[0]!.name}`);
    expect(lines.some((l) => l.startsWith('-D KUBE-SERVICES -d 10.0.0.51/32'))).toBe(true);
    expect(lines.some((l) => l.startsWith('-A KUBE-SERVICES -d 10.0.0.51/32') && l.includes('REJECT'))).toBe(true);
    // The reference is removed before the chain is deleted.
    const del = lines.findIndex((l) => l.startsWith('-D KUBE-SERVICES'));
    expect(del).toBeLessThan(lines.indexOf(`-X ${b.natChains[0]!.name}`));
  });

  it('is empty when nothing differs', () => {
    expect(renderPartial(rules(a1), rules(a1), ['ns/a'])).toBeUndefined();
  });
});

describe('partial restore with traffic policies', () => {
  const tcp = (over: Partial<ServicePortInfo> = {}) => sp('lb', { protocol: 'TCP', port: 80, nodePort: 30080, loadBalancerIPs: ['192.0.2.20'], ...over });
  const here = (ip: string): EndpointInfo => ({ ...ep(ip), isLocal: true });
  const there = (ip: string): EndpointInfo => ({ ...ep(ip), isLocal: false });
  const declared = (text: string) => [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]!.replace(/-[A-Z2-7]{16}$/, ''));

  it('writes KUBE-SVL and KUBE-FW with the service, and the filter chains by rule', () => {
    const before = buildServiceRules(tcp(), [here('10.1.1.2'), there('10.1.2.2')], cfg);
    const after = buildServiceRules(
      tcp({ externalPolicyLocal: true, loadBalancerSourceRanges: ['198.51.100.0/24'], healthCheckNodePort: 32000 }),
      [here('10.1.1.2'), there('10.1.2.2')],
      cfg,
    );
    const text = renderPartial(rules(before), rules(after), ['ns/lb'])!;
    expect(declared(text).sort()).toEqual(['KUBE-EXT', 'KUBE-FW', 'KUBE-SEP', 'KUBE-SEP', 'KUBE-SVC', 'KUBE-SVL']);
    const lines = text.split('\n');
    expect(lines.some((l) => l.startsWith('-A KUBE-NODEPORTS -p tcp') && l.endsWith('--dport 32000 -j ACCEPT'))).toBe(true);
    expect(lines.some((l) => l.startsWith('-A KUBE-PROXY-FIREWALL -d 192.0.2.20/32') && l.endsWith('-j DROP'))).toBe(true);
    expect(lines.some((l) => l.startsWith('-D KUBE-SERVICES -d 192.0.2.20/32') && l.endsWith('-j KUBE-EXT-' + after.natChains[0]!.name.slice(9)))).toBe(true);
    expect(lines.some((l) => l.startsWith('-I KUBE-SERVICES 1 -d 192.0.2.20/32') && l.includes('-j KUBE-FW-'))).toBe(true);
  });

  it('deletes KUBE-SVL and KUBE-FW when they are no longer used, after the references to them', () => {
    const before = buildServiceRules(tcp({ externalPolicyLocal: true, loadBalancerSourceRanges: ['198.51.100.0/24'] }), [here('10.1.1.2'), there('10.1.2.2')], cfg);
    const after = buildServiceRules(tcp({ externalPolicyLocal: true }), [there('10.1.2.2')], cfg);
    const text = renderPartial(rules(before), rules(after), ['ns/lb'])!;
    const lines = text.split('\n');
    const svl = before.natChains.find((c) => c.name.startsWith('KUBE-SVL-'))!.name;
    const fw = before.natChains.find((c) => c.name.startsWith('KUBE-FW-'))!.name;
    expect(lines).toContain(`-X ${svl}`);
    expect(lines).toContain(`-X ${fw}`);
    expect(lines.findIndex((l) => l.startsWith('-D KUBE-SERVICES') && l.includes(fw))).toBeLessThan(lines.indexOf(`-X ${fw}`));
    expect(lines.some((l) => l.startsWith('-D KUBE-PROXY-FIREWALL'))).toBe(true);
    // No local endpoint left: external traffic is dropped in filter.
    expect(lines.filter((l) => l.startsWith('-A KUBE-EXTERNAL-SERVICES') && l.includes('has no local endpoints') && l.endsWith('-j DROP'))).toHaveLength(2);
  });
});

describe('UDP conntrack cleanup', () => {
  const withTwo = buildServiceRules(sp('a', { nodePort: 30053 }), [ep('10.1.1.2'), ep('10.1.2.2')], cfg);
  const withOne = buildServiceRules(sp('a', { nodePort: 30053 }), [ep('10.1.1.2')], cfg);
  const empty = buildServiceRules(sp('a', { nodePort: 30053 }), [], cfg);

  it('clears entries NATed to a removed endpoint', () => {
    expect(staleConntrack(rules(withTwo), rules(withOne), ['ns/a'])).toEqual([
      { origDst: '10.0.0.50', dstNat: '10.1.2.2' },
      { dport: 30053, dstNat: '10.1.2.2' },
    ]);
  });

  it('clears every entry of a port going from 0 to >0 endpoints (kube-proxy #48370)', () => {
    expect(staleConntrack(rules(empty), rules(withOne), ['ns/a'])).toEqual([{ origDst: '10.0.0.50' }, { dport: 30053 }]);
  });

  it('clears a deleted service IP, and never TCP', () => {
    expect(staleConntrack(rules(withOne), rules(), ['ns/a'])).toEqual([{ origDst: '10.0.0.50' }]);
    const tcp1 = buildServiceRules(sp('t', { protocol: 'TCP' }), [ep('10.1.1.2'), ep('10.1.2.2')], cfg);
    const tcp2 = buildServiceRules(sp('t', { protocol: 'TCP' }), [ep('10.1.1.2')], cfg);
    expect(staleConntrack(rules(tcp1), rules(tcp2), ['ns/t'])).toEqual([]);
  });
});
