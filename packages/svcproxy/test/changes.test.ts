import { ChangeTracker, renderPartial, staleConntrack } from '../src/changes.js';
import { buildServiceRules, type NodeConfig, type ServiceRules } from '../src/iptables/rules.js';
import type { EndpointInfo, ServicePortInfo } from '../src/model.js';

const cfg: NodeConfig = { clusterCIDR: '10.1.0.0/16', masqueradeAll: false, nodePortAddresses: [] };
const sp = (name: string, over: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  namespace: 'ns',
  name,
  portName: '',
  protocol: 'UDP',
  clusterIP: '10.0.0.50',
  port: 53,
  externalIPs: [],
  loadBalancerIPs: [],
  sessionAffinity: 'None',
  stickySeconds: 10800,
  ...over,
});
const ep = (ip: string): EndpointInfo => ({ ip, port: 5353, ready: true });
const rules = (...rs: ServiceRules[]) => new Map(rs.map((r) => [r.key, r]));

describe('change tracking', () => {
  it('marks only ports whose data changed', () => {
    const t = new ChangeTracker();
    t.setService('ns/a', [sp('a'), sp('a', { portName: 'x', port: 54 })]);
    expect([...t.takeDirty()].sort()).toEqual(['ns/a', 'ns/a:x']);
    t.setService('ns/a', [sp('a'), sp('a', { portName: 'x', port: 54 })]);
    expect(t.takeDirty().size).toBe(0);
    t.setService('ns/a', [sp('a')]);
    expect([...t.takeDirty()]).toEqual(['ns/a:x']);
    t.setEndpoints('ns/a', new Map([['ns/a', [ep('10.1.1.2')]]]));
    expect([...t.takeDirty()]).toEqual(['ns/a']);
    t.setEndpoints('ns/a', new Map());
    expect([...t.takeDirty()]).toEqual(['ns/a']);
    expect(t.endpointsOf('ns/a')).toEqual([]);
  });
});

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
