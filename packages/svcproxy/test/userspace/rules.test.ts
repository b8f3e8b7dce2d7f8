import { jumpFixLines, parseSave } from '@pilot/common';
import {
  buildPortalRules,
  IPTABLES_MODE_CHAINS,
  renderPortalRestore,
  renderUserspaceRemoval,
  USERSPACE_JUMPS,
  type Portal,
} from '../../src/userspace/rules.js';
import { CHAIN } from '../../src/iptables/rules.js';
import { SERVICE_CHAIN_PREFIXES } from '../../src/names.js';

const cfg = { listenIP: '192.168.50.11' };

const web: Portal = {
  key: 'default/web:http',
  protocol: 'TCP',
  clusterIP: '10.0.0.20',
  port: 80,
  nodePort: 30080,
  externalIPs: ['203.0.113.9'],
  loadBalancerIPs: [],
  proxyPort: 41000,
  hasEndpoints: true,
};

const chainRules = (r: ReturnType<typeof buildPortalRules>, table: 'nat' | 'filter', name: string) =>
  r[table].find((c) => c.name === name)!.rules.map((a) => a.join(' '));

describe('userspace portal rules', () => {
  it('DNATs cluster IP, external IP and NodePort to the listener, for pods and for the host', () => {
    const r = buildPortalRules([web], cfg);
    const expected = [
      '-d 10.0.0.20/32 -p tcp -m comment --comment default/web:http cluster IP -m tcp --dport 80 -j DNAT --to-destination 192.168.50.11:41000',
      '-d 203.0.113.9/32 -p tcp -m comment --comment default/web:http external IP -m tcp --dport 80 -j DNAT --to-destination 192.168.50.11:41000',
    ];
    expect(chainRules(r, 'nat', 'KUBE-PORTALS-CONTAINER')).toEqual(expected);
    expect(chainRules(r, 'nat', 'KUBE-PORTALS-HOST')).toEqual(expected);
    const np = ['-p tcp -m comment --comment default/web:http -m tcp --dport 30080 -j DNAT --to-destination 192.168.50.11:41000'];
    expect(chainRules(r, 'nat', 'KUBE-NODEPORT-CONTAINER')).toEqual(np);
    expect(chainRules(r, 'nat', 'KUBE-NODEPORT-HOST')).toEqual(np);
    expect(chainRules(r, 'filter', 'KUBE-PORTALS-REJECT')).toEqual([]);
    expect(chainRules(r, 'filter', 'KUBE-NODEPORT-NON-LOCAL')).toEqual([
      '-d 192.168.50.11/32 -p tcp -m comment --comment default/web:http -m tcp --dport 41000 -j ACCEPT',
    ]);
  });

  it('gives a port without endpoints no redirect but a REJECT on every address it answers', () => {
    const r = buildPortalRules([{ ...web, protocol: 'UDP', hasEndpoints: false }], cfg);
    for (const c of r.nat) expect(c.rules).toEqual([]);
    expect(chainRules(r, 'filter', 'KUBE-PORTALS-REJECT')).toEqual([
      '-d 10.0.0.20/32 -p udp -m comment --comment default/web:http has no endpoints -m udp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-d 203.0.113.9/32 -p udp -m comment --comment default/web:http has no endpoints -m udp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-p udp -m comment --comment default/web:http has no endpoints -m addrtype --dst-type LOCAL -m udp --dport 30080 -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it('rejects a port whose listener could not be opened instead of letting it through unproxied', () => {
    const r = buildPortalRules([{ ...web, proxyPort: 0 }], cfg);
    for (const c of r.nat) expect(c.rules).toEqual([]);
    expect(chainRules(r, 'filter', 'KUBE-PORTALS-REJECT')[0]).toContain('has no proxy listener');
    expect(chainRules(r, 'filter', 'KUBE-NODEPORT-NON-LOCAL')).toEqual([]);
  });

  it('renders one restore that declares its chains, inserts missing jumps and removes the iptables mode', () => {
    const saved = parseSave(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]',
        ':KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]',
        ':KUBE-POSTROUTING - [0:0]',
        ':OVERLAY-MASQ - [0:0]',
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        '-A POSTROUTING -s 10.1.0.0/16 -j OVERLAY-MASQ',
        '-A KUBE-SERVICES -d 10.0.0.20/32 -p tcp -j KUBE-SVC-XPGD46QRK7WJZT7O',
        '-A KUBE-SVC-XPGD46QRK7WJZT7O -j KUBE-SEP-SXIVWICOYRO3J4NJ',
        '-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -j DNAT --to-destination 10.180.0.1:80',
        '-A OVERLAY-MASQ -j MASQUERADE',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A FORWARD -s 10.1.0.0/16 -j ACCEPT',
        'COMMIT',
      ].join('\n'),
    );
    const text = renderPortalRestore(buildPortalRules([web], cfg), saved);
    const lines = text.trim().split('\n');
    // filter first, then nat; each table declares its own chains and the ones it removes.
    expect(lines.slice(0, 4)).toEqual(['*filter', ':KUBE-PORTALS-REJECT - [0:0]', ':KUBE-NODEPORT-NON-LOCAL - [0:0]', ':KUBE-SERVICES - [0:0]']);
    expect(lines).toContain('-D FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(lines).toContain('-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(lines).toContain('-D POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
    for (const c of ['KUBE-SERVICES', 'KUBE-SVC-XPGD46QRK7WJZT7O', 'KUBE-SEP-SXIVWICOYRO3J4NJ', 'KUBE-POSTROUTING']) expect(lines).toContain(`-X ${c}`);
    // Someone else's chain and its jump are untouched.
    expect(text).not.toMatch(/OVERLAY-MASQ/);
    expect(text).not.toMatch(/-D FORWARD -s 10.1.0.0/);
    // Our jumps are inserted at the top, in order.
    expect(lines).toContain('-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER');
    const i1 = lines.indexOf('-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "service proxy ports" -j KUBE-NODEPORT-NON-LOCAL');
    const i2 = lines.indexOf('-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "services without endpoints" -j KUBE-PORTALS-REJECT');
    expect(i1).toBeGreaterThan(-1);
    expect(i2).toBeGreaterThan(i1); // inserted last = ends up first
    // The deletions come after the -D of the jumps that referenced them.
    const nat = lines.slice(lines.indexOf('*nat'));
    expect(nat.indexOf('-X KUBE-SERVICES')).toBeGreaterThan(nat.indexOf('-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
    const filter = lines.slice(0, lines.indexOf('*nat'));
    expect(filter.indexOf('-X KUBE-SERVICES')).toBeGreaterThan(filter.indexOf('-D FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
  });

  it('keeps an iptables-mode chain that a chain it does not own still jumps to', () => {
    const saved = parseSave(['*nat', ':KUBE-MARK-MASQ - [0:0]', ':ADMIN - [0:0]', '-A ADMIN -j KUBE-MARK-MASQ', 'COMMIT'].join('\n'));
    const text = renderUserspaceRemoval(saved, IPTABLES_MODE_CHAINS);
    expect(text).toBe('');
  });

  it('leaves jumps alone when they already head their chains', () => {
    for (const spec of USERSPACE_JUMPS) {
      expect(jumpFixLines(spec, [...spec.rules, ['-j', 'DOCKER']])).toEqual([]);
    }
  });

  it('moves a jump pushed down by another tool back to the top, without duplicates', () => {
    const spec = USERSPACE_JUMPS.find((j) => j.chain === 'FORWARD')!;
    const lines = jumpFixLines(spec, [['-j', 'DOCKER-USER'], ...spec.rules, ...spec.rules]);
    expect(lines.filter((l) => l.startsWith('-D FORWARD'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('-I FORWARD 1'))).toHaveLength(1);
  });

  it('removes its own chains and jumps when asked (another mode taking over)', () => {
    const saved = parseSave(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':KUBE-PORTALS-CONTAINER - [0:0]',
        '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-A KUBE-PORTALS-CONTAINER -d 10.0.0.20/32 -p tcp -j DNAT --to-destination 192.168.50.11:41000',
        'COMMIT',
      ].join('\n'),
    );
    expect(renderUserspaceRemoval(saved)).toBe(
      [
        '*nat',
        ':KUBE-PORTALS-CONTAINER - [0:0]',
        '-D PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-X KUBE-PORTALS-CONTAINER',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('knows every chain name the iptables mode writes (so switching modes removes them all)', () => {
    for (const name of Object.values(CHAIN)) {
      expect([...IPTABLES_MODE_CHAINS.nat, ...IPTABLES_MODE_CHAINS.filter]).toContain(name);
    }
    expect([...IPTABLES_MODE_CHAINS.prefixes].sort()).toEqual([...SERVICE_CHAIN_PREFIXES].sort());
  });
});
