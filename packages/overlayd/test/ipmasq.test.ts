import { Cidr, parseSave } from '@pilot/common';
import { planRules } from '../src/ipmasq.js';

const input = { network: Cidr.parse('10.1.0.0/16'), subnet: Cidr.parse('10.1.5.0/24'), ipMasq: true };

const inPlace = `*filter
:FORWARD DROP [0:0]
:OVERLAYD-FWD - [0:0]
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A FORWARD -m comment --comment "overlayd forward" -j OVERLAYD-FWD
-A OVERLAYD-FWD -s 10.1.0.0/16 -m comment --comment "overlayd forward" -j ACCEPT
-A OVERLAYD-FWD -d 10.1.0.0/16 -m comment --comment "overlayd forward" -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:OVERLAYD-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "overlayd masq" -j OVERLAYD-POSTRTG
-A OVERLAYD-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "overlayd masq" -j RETURN
-A OVERLAYD-POSTRTG -s 10.1.5.0/24 -d 10.1.0.0/16 -m comment --comment "overlayd masq" -j RETURN
-A OVERLAYD-POSTRTG -s 10.1.0.0/16 -d 10.1.5.0/24 -m comment --comment "overlayd masq" -j RETURN
-A OVERLAYD-POSTRTG ! -s 10.1.0.0/16 -d 10.1.5.0/24 -m comment --comment "overlayd masq" -j RETURN
-A OVERLAYD-POSTRTG -s 10.1.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "overlayd masq" -j MASQUERADE
-A OVERLAYD-POSTRTG ! -s 10.1.0.0/16 -d 10.1.0.0/16 -m comment --comment "overlayd masq" -j MASQUERADE
COMMIT
`;

describe('iptables plan', () => {
  it('creates both chains and appends their jumps on a clean host, in one restore', () => {
    const text = planRules(input, parseSave('*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'))!;
    expect(text).toContain(':OVERLAYD-FWD - [0:0]');
    expect(text).toContain('-A FORWARD -m comment --comment "overlayd forward" -j OVERLAYD-FWD');
    expect(text).toContain('-A OVERLAYD-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "overlayd masq" -j RETURN');
    expect(text).toContain('-A POSTROUTING -m comment --comment "overlayd masq" -j OVERLAYD-POSTRTG');
    expect(text.match(/^COMMIT$/gm)).toHaveLength(2);
    // Appended, never inserted: svcproxy's jumps stay first in FORWARD.
    expect(text).not.toMatch(/^-I /m);
  });

  it('does nothing when the saved rules already match', () => {
    expect(planRules(input, parseSave(inPlace))).toBeUndefined();
  });

  it('rewrites a flushed chain without adding a second jump', () => {
    const flushed = inPlace.split('\n').filter((l) => !l.startsWith('-A OVERLAYD-FWD')).join('\n');
    const text = planRules(input, parseSave(flushed))!;
    expect(text).toContain('-A OVERLAYD-FWD -s 10.1.0.0/16 -m comment --comment "overlayd forward" -j ACCEPT');
    expect(text).not.toContain('-A FORWARD');
    expect(text).not.toContain('*nat');
  });

  it('rewrites the masquerade chain when the subnet changed', () => {
    const text = planRules({ ...input, subnet: Cidr.parse('10.1.6.0/24') }, parseSave(inPlace))!;
    expect(text).toContain('-A OVERLAYD-POSTRTG -s 10.1.6.0/24 -d 10.1.0.0/16 -m comment --comment "overlayd masq" -j RETURN');
    expect(text).not.toContain('10.1.5.0/24');
    expect(text).not.toContain('-A POSTROUTING');
  });

  it('removes the masquerade chain and its jump when --ip-masq is off', () => {
    const text = planRules({ ...input, ipMasq: false }, parseSave(inPlace))!;
    expect(text).toContain('-D POSTROUTING -m comment --comment "overlayd masq" -j OVERLAYD-POSTRTG');
    expect(text).toContain('-X OVERLAYD-POSTRTG');
    expect(text).not.toContain('*filter');
  });
});
