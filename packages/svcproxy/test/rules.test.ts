import { jumpFixLines as fixLines, parseSave, type Args, type JumpSpec } from '@pilot/common';
import { buildServiceRules, JUMP_TARGETS, JUMPS, probability, renderFull, type NodeConfig } from '../src/iptables/rules.js';
import type { EndpointInfo, ServicePortInfo } from '../src/model.js';

const cfg: NodeConfig = { clusterCIDR: '10.1.0.0/16', masqueradeAll: false, nodePortAddresses: [] };

function sp(over: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    namespace: 'ns1',
    name: 'svc1',
    portName: 'p80',
    protocol: 'TCP',
    clusterIP: '10.0.0.41',
    port: 80,
    externalIPs: [],
    loadBalancerIPs: [],
    sessionAffinity: 'None',
    stickySeconds: 10800,
    ...over,
  };
}
const ep = (ip: string, port = 80): EndpointInfo => ({ ip, port, ready: true });
const eps3 = [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')];

/** Renders and re-parses, so assertions read like iptables-save. */
function tables(text: string) {
  const t = parseSave(text);
  const lines = (table: string, chain: string) =>
    (t.get(table)?.rules ?? []).filter((r) => r.chain === chain).map((r) => r.args.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' '));
  return { t, lines };
}

describe('iptables rules of one service port', () => {
  it('spread over endpoints with kube-proxy probabilities and chain names', () => {
    const { lines } = tables(renderFull([buildServiceRules(sp(), eps3, cfg)], cfg));
    expect(lines('nat', 'KUBE-SERVICES')).toEqual([
      '-d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
      '! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]);
    const svc = lines('nat', 'KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(svc[0]).toBe('! -s 10.1.0.0/16 -d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ');
    expect(svc[1]).toBe('-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(svc[2]).toMatch(/--probability 0\.5000000000 -j KUBE-SEP-/);
    expect(svc[3]).toMatch(/^-m comment --comment "ns1\/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-[A-Z2-7]{16}$/);
    expect(lines('nat', 'KUBE-SEP-SXIVWICOYRO3J4NJ')).toEqual([
      '-s 10.180.0.1/32 -m comment --comment ns1/svc1:p80 -j KUBE-MARK-MASQ',
      '-p tcp -m comment --comment ns1/svc1:p80 -m tcp -j DNAT --to-destination 10.180.0.1:80',
    ]);
  });

  it('formats probabilities %0.10f', () => {
    expect(probability(3)).toBe('0.3333333333');
    expect(probability(7)).toBe('0.1428571429');
    expect(probability(2)).toBe('0.5000000000');
  });

  it('masquerades everything with masquerade-all, nothing extra without a cluster CIDR', () => {
    const all = buildServiceRules(sp(), eps3, { ...cfg, masqueradeAll: true }).natChains[0]!.rules[0]!;
    expect(all.join(' ')).toMatch(/^-d 10.0.0.41\/32 .* -j KUBE-MARK-MASQ$/);
    const none = buildServiceRules(sp(), eps3, { masqueradeAll: false, nodePortAddresses: [] }).natChains[0]!.rules;
    expect(none.every((r) => !r.includes('KUBE-MARK-MASQ'))).toBe(true);
  });

  it('rejects in filter when a port has no endpoints, and writes no nat chain', () => {
    const r = buildServiceRules(sp({ nodePort: 30080, externalIPs: ['192.0.2.10'] }), [{ ...ep('10.180.0.9'), ready: false }], cfg);
    expect(r.natChains).toEqual([]);
    expect(r.natServices).toEqual([]);
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('filter', 'KUBE-SERVICES')).toEqual([
      '-d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(lines('filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-d 192.0.2.10/32 -p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-p tcp -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it('routes NodePort, external and load-balancer IPs through KUBE-EXT with masquerade', () => {
    const r = buildServiceRules(sp({ nodePort: 30080, externalIPs: ['192.0.2.10'], loadBalancerIPs: ['192.0.2.20'] }), eps3, cfg);
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('nat', 'KUBE-SERVICES').slice(1, 3)).toEqual([
      '-d 192.0.2.10/32 -p tcp -m comment --comment "ns1/svc1:p80 external IP" -m tcp --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O',
      '-d 192.0.2.20/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O',
    ]);
    expect(lines('nat', 'KUBE-NODEPORTS')).toEqual(['-p tcp -m comment --comment ns1/svc1:p80 -m tcp --dport 30080 -j KUBE-EXT-XPGD46QRK7WJZT7O']);
    expect(lines('nat', 'KUBE-EXT-XPGD46QRK7WJZT7O')).toEqual([
      '-m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ',
      '-j KUBE-SVC-XPGD46QRK7WJZT7O',
    ]);
  });

  it('keeps ClientIP affinity with recent, checked before the random spread', () => {
    const r = buildServiceRules(sp({ sessionAffinity: 'ClientIP', stickySeconds: 600 }), eps3.slice(0, 2), cfg);
    const { lines } = tables(renderFull([r], cfg));
    const svc = lines('nat', 'KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(svc[1]).toBe(
      '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --rcheck --seconds 600 --reap --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
    expect(svc[3]).toMatch(/--probability 0.5000000000/);
    expect(lines('nat', 'KUBE-SEP-SXIVWICOYRO3J4NJ')[1]).toBe(
      '-p tcp -m comment --comment ns1/svc1:p80 -m recent --set --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.1:80',
    );
  });

  it('writes the masquerade plumbing and canaries', () => {
    const { lines } = tables(renderFull([], cfg));
    expect(lines('nat', 'KUBE-MARK-MASQ')).toEqual(['-j MARK --or-mark 0x4000']);
    expect(lines('nat', 'KUBE-POSTROUTING')).toEqual([
      '-m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-j MARK --xor-mark 0x4000',
      '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]);
    expect(lines('nat', 'KUBE-PROXY-CANARY')).toHaveLength(1);
    expect(lines('filter', 'KUBE-PROXY-CANARY')).toHaveLength(1);
  });

  it('limits the nodeports jump to --nodeport-addresses, still last', () => {
    const c = { ...cfg, nodePortAddresses: ['192.168.7.0/24', '10.9.9.9/32'] };
    const { lines } = tables(renderFull([buildServiceRules(sp(), eps3, c)], c));
    const s = lines('nat', 'KUBE-SERVICES');
    expect(s.slice(-2).map((l) => l.split(' -m ')[0])).toEqual(['-d 192.168.7.0/24', '-d 10.9.9.9/32']);
  });

  it('uses the udp match for UDP ports', () => {
    const r = buildServiceRules(sp({ protocol: 'UDP', portName: 'dns', port: 53 }), [ep('10.180.0.1', 5353)], cfg);
    expect(r.natServices[0]!.join(' ')).toContain('-p udp -m comment --comment ns1/svc1:dns cluster IP -m udp --dport 53');
  });
});

describe('traffic policies, source ranges and health checks', () => {
  const local = (ip: string, port = 80): EndpointInfo => ({ ip, port, ready: true, isLocal: true });
  const remote = (ip: string, port = 80): EndpointInfo => ({ ip, port, ready: true, isLocal: false });
  const H = 'XPGD46QRK7WJZT7O';
  const mixed = [local('10.180.0.1'), remote('10.180.0.2'), local('10.180.0.3')];

  it('externalTrafficPolicy Local: pods and the node go through KUBE-SVC, everyone else to KUBE-SVL unmasqueraded', () => {
    const r = buildServiceRules(sp({ nodePort: 30080, externalIPs: ['192.0.2.10'], externalPolicyLocal: true }), mixed, cfg);
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('nat', 'KUBE-SERVICES').slice(0, 2)).toEqual([
      `-d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-${H}`,
      `-d 192.0.2.10/32 -p tcp -m comment --comment "ns1/svc1:p80 external IP" -m tcp --dport 80 -j KUBE-EXT-${H}`,
    ]);
    expect(lines('nat', 'KUBE-NODEPORTS')).toEqual([`-p tcp -m comment --comment ns1/svc1:p80 -m tcp --dport 30080 -j KUBE-EXT-${H}`]);
    expect(lines('nat', `KUBE-EXT-${H}`)).toEqual([
      `-s 10.1.0.0/16 -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -j KUBE-SVC-${H}`,
      '-m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      `-m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-${H}`,
      `-j KUBE-SVL-${H}`,
    ]);
    // KUBE-SVL spreads over the two local endpoints only, without a masquerade rule.
    const svl = lines('nat', `KUBE-SVL-${H}`);
    expect(svl).toEqual([
      '-m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-SXIVWICOYRO3J4NJ',
      expect.stringMatching(/^-m comment --comment "ns1\/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-/),
    ]);
    // KUBE-SVC (cluster IP, pod short-circuit) keeps all three and its masquerade rule.
    expect(lines('nat', `KUBE-SVC-${H}`)).toHaveLength(4);
    expect(lines('nat', `KUBE-SVC-${H}`)[0]).toContain('-j KUBE-MARK-MASQ');
    expect(r.natChains.filter((c) => c.name.startsWith('KUBE-SEP-'))).toHaveLength(3);
    expect(r.filterExternal).toEqual([]);
    expect(r.localEndpoints).toBe(2);
  });

  it('externalTrafficPolicy Local without local endpoints: external traffic dropped, pods and ClusterIP still served', () => {
    const r = buildServiceRules(
      sp({ nodePort: 30080, externalIPs: ['192.0.2.10'], loadBalancerIPs: ['192.0.2.20'], externalPolicyLocal: true }),
      [remote('10.180.0.2')],
      cfg,
    );
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('nat', `KUBE-EXT-${H}`)).toEqual([
      `-s 10.1.0.0/16 -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -j KUBE-SVC-${H}`,
      '-m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      `-m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-${H}`,
    ]);
    expect(r.natChains.map((c) => c.name)).not.toContain(`KUBE-SVL-${H}`);
    expect(lines('nat', 'KUBE-SERVICES')[0]).toContain(`-j KUBE-SVC-${H}`);
    expect(lines('filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-d 192.0.2.10/32 -p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp --dport 80 -j DROP',
      '-d 192.0.2.20/32 -p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp --dport 80 -j DROP',
      '-p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP',
    ]);
    expect(lines('filter', 'KUBE-SERVICES')).toEqual([]);
  });

  it('ignores externalTrafficPolicy Local on a port nobody reaches from outside', () => {
    const plain = buildServiceRules(sp(), mixed, cfg);
    expect(buildServiceRules(sp({ externalPolicyLocal: true }), mixed, cfg).natChains).toEqual(plain.natChains);
  });

  it('internalTrafficPolicy Local: the cluster IP goes to KUBE-SVL, or is dropped without local endpoints', () => {
    const r = buildServiceRules(sp({ internalPolicyLocal: true }), mixed, cfg);
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('nat', 'KUBE-SERVICES')[0]).toBe(`-d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVL-${H}`);
    expect(lines('nat', `KUBE-SVL-${H}`)[0]).toBe(`! -s 10.1.0.0/16 -d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    expect(lines('nat', `KUBE-SVL-${H}`)).toHaveLength(3);
    // Nothing needs the cluster-wide chain or the remote endpoint's chain.
    expect(r.natChains.map((c) => c.name).filter((n) => !n.startsWith('KUBE-SEP-'))).toEqual([`KUBE-SVL-${H}`]);
    expect(r.natChains.filter((c) => c.name.startsWith('KUBE-SEP-'))).toHaveLength(2);

    const none = buildServiceRules(sp({ internalPolicyLocal: true }), [remote('10.180.0.2')], cfg);
    expect(none.natChains).toEqual([]);
    expect(none.natServices).toEqual([]);
    expect(tables(renderFull([none], cfg)).lines('filter', 'KUBE-SERVICES')).toEqual([
      '-d 10.0.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp --dport 80 -j DROP',
    ]);
  });

  it('loadBalancerSourceRanges: LB IPs enter KUBE-FW, which lets the ranges on to KUBE-EXT; KUBE-PROXY-FIREWALL drops the rest', () => {
    const r = buildServiceRules(sp({ loadBalancerIPs: ['192.0.2.20'], loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.7/32'] }), mixed, cfg);
    const { lines } = tables(renderFull([r], cfg));
    expect(lines('nat', 'KUBE-SERVICES')[1]).toBe(`-d 192.0.2.20/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-${H}`);
    expect(lines('nat', `KUBE-FW-${H}`)).toEqual([
      `-s 198.51.100.0/24 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j KUBE-EXT-${H}`,
      `-s 203.0.113.7/32 -m comment --comment "ns1/svc1:p80 loadbalancer IP" -j KUBE-EXT-${H}`,
      '-m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"',
    ]);
    expect(lines('filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      `-d 192.0.2.20/32 -p tcp -m comment --comment "ns1/svc1:p80 traffic not accepted by KUBE-FW-${H}" -m tcp --dport 80 -j DROP`,
    ]);
    // Without LB IPs the ranges have nothing to guard.
    const noLb = buildServiceRules(sp({ nodePort: 30080, loadBalancerSourceRanges: ['198.51.100.0/24'] }), mixed, cfg);
    expect(noLb.natChains.map((c) => c.name)).not.toContain(`KUBE-FW-${H}`);
    expect(noLb.filterFirewall).toEqual([]);
  });

  it('accepts the health-check node port in filter KUBE-NODEPORTS, with or without endpoints', () => {
    for (const eps of [mixed, []]) {
      const r = buildServiceRules(sp({ loadBalancerIPs: ['192.0.2.20'], externalPolicyLocal: true, healthCheckNodePort: 32000 }), eps, cfg);
      expect(tables(renderFull([r], cfg)).lines('filter', 'KUBE-NODEPORTS')).toEqual([
        '-p tcp -m comment --comment "ns1/svc1:p80 health check node port" -m tcp --dport 32000 -j ACCEPT',
      ]);
    }
  });

  it('jumps to the filter chains from INPUT, FORWARD and OUTPUT', () => {
    const targets = (chain: string) => JUMPS.find((j) => j.table === 'filter' && j.chain === chain)!.rules.map((r) => r[r.length - 1]);
    expect(targets('INPUT')).toEqual(['KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']);
    expect(targets('FORWARD')).toEqual(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-PROXY-FIREWALL']);
    expect(targets('OUTPUT')).toEqual(['KUBE-SERVICES', 'KUBE-PROXY-FIREWALL']);
  });
});

describe('jump fixing', () => {
  // Any jump to one of svcproxy's chains is ours, wherever it is.
  const jumpFixLines = (spec: JumpSpec, current: readonly Args[]) => fixLines(spec, current, JUMP_TARGETS);
  const forward = JUMPS.find((j) => j.chain === 'FORWARD')!;
  it('does nothing when our jumps are first', () => {
    expect(jumpFixLines(forward, [...forward.rules, ['-i', 'cbr0', '-j', 'ACCEPT']])).toEqual([]);
  });

  it('moves jumps pushed down by another ACCEPT back to position 1', () => {
    const lines = jumpFixLines(forward, [['-i', 'cbr0', '-j', 'ACCEPT'], ...forward.rules]);
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 3).every((l) => l.startsWith('-D FORWARD '))).toBe(true);
    expect(lines[3]).toMatch(/^-I FORWARD 1 .*-j KUBE-PROXY-FIREWALL$/);
    expect(lines[4]).toMatch(/^-I FORWARD 1 .*KUBE-EXTERNAL-SERVICES$/);
    expect(lines[5]).toMatch(/^-I FORWARD 1 .*-j KUBE-SERVICES$/);
  });

  it('inserts missing jumps and removes duplicates', () => {
    expect(jumpFixLines(forward, [])).toHaveLength(3);
    const dup = jumpFixLines(forward, [...forward.rules, forward.rules[0]!]);
    expect(dup.filter((l) => l.startsWith('-D'))).toHaveLength(4);
  });

  it('removes a jump to one of its chains that an older layout put in a chain where it no longer belongs', () => {
    const input = JUMPS.find((j) => j.table === 'filter' && j.chain === 'INPUT')!;
    const stray: Args = ['-m', 'conntrack', '--ctstate', 'NEW', '-j', 'KUBE-SERVICES'];
    const lines = jumpFixLines(input, [...input.rules, stray]);
    expect(lines).toContain(`-D INPUT ${stray.join(' ')}`);
    expect(lines.filter((l) => l.startsWith('-D INPUT'))).toHaveLength(input.rules.length + 1);
    expect(lines.filter((l) => l.startsWith('-I INPUT 1'))).toHaveLength(input.rules.length);
  });
});
