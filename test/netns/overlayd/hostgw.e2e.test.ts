import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure } from '@pilot/netns';
import {
  etcdLeases, expectFullMesh, httpGet, keyOf, netOf, overlaydRoutes, podsOnEveryHost, readEnv, startOverlaydEverywhere, startWebServer, type NamedPod, type Started,
} from './helpers.js';

/** The same connectivity with host-gw (and --ip-masq), and with vxlan DirectRouting. */

describe('overlayd host-gw with --ip-masq on 3 hosts', () => {
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  let pods: NamedPod[] = [];

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } }, ['--ip-masq']));
    pods = await podsOnEveryHost(c, od);
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it('routes every subnet via its host\'s public IP, with the full underlay MTU', withLogsOnFailure(() => c, async () => {
    const leases = await etcdLeases(c!);
    for (const [i, h] of c!.hosts.entries()) {
      expect(envs[i]!.FLANNEL_MTU).toBe('1500');
      expect(envs[i]!.FLANNEL_IPMASQ).toBe('true');
      expect(leases.get(keyOf(envs[i]!.FLANNEL_SUBNET!))).toMatchObject({ PublicIP: h.ip, BackendType: 'host-gw' });
      const routes = await overlaydRoutes(h);
      const want = c!.hosts.map((p, j) => (j === i ? undefined : `${netOf(envs[j]!.FLANNEL_SUBNET!)} via ${p.ip} dev eth0`)).filter(Boolean);
      expect(routes.sort()).toEqual(want.sort());
    }
    expect(readEnv(od[0]!.dockerOptsFile).DOCKER_OPTS!.trim()).toBe(`--bip=${envs[0]!.FLANNEL_SUBNET} --ip-masq=false --mtu=1500`);
  }));

  it('lets every pod ping and open a TCP connection to the pods on the other hosts, unNATed', withLogsOnFailure(() => c, async () => {
    await expectFullMesh(pods);
  }));

  it('masquerades pod traffic leaving the Network, not svcproxy-marked packets, and restores a flushed chain', withLogsOnFailure(() => c, async () => {
    const [h1, h2] = [c!.hosts[0]!, c!.hosts[1]!];
    await startWebServer(h2, 'h2-host', 8081);
    // A pod on h1 talks to h2's underlay address (outside the Network): the server sees h1, not the pod.
    expect(await httpGet(pods[0]!.pod, h2.ip, 8081)).toBe(`h2-host saw ${h1.ip}`);
    const nat = (await h1.execOk(['iptables-save', '-t', 'nat'])).stdout;
    const s1 = netOf(envs[0]!.FLANNEL_SUBNET!);
    expect(nat).toContain('-A POSTROUTING -m comment --comment "overlayd masq" -j OVERLAYD-POSTRTG');
    const chain = nat.split('\n').filter((l) => l.startsWith('-A OVERLAYD-POSTRTG'));
    expect(chain).toEqual([
      '-A OVERLAYD-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "overlayd masq" -j RETURN',
      `-A OVERLAYD-POSTRTG -s ${s1} -d 10.1.0.0/16 -m comment --comment "overlayd masq" -j RETURN`,
      `-A OVERLAYD-POSTRTG -s 10.1.0.0/16 -d ${s1} -m comment --comment "overlayd masq" -j RETURN`,
      `-A OVERLAYD-POSTRTG ! -s 10.1.0.0/16 -d ${s1} -m comment --comment "overlayd masq" -j RETURN`,
      '-A OVERLAYD-POSTRTG -s 10.1.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "overlayd masq" -j MASQUERADE',
      '-A OVERLAYD-POSTRTG ! -s 10.1.0.0/16 -d 10.1.0.0/16 -m comment --comment "overlayd masq" -j MASQUERADE',
    ]);
    // A packet svcproxy marked for its own masquerade (0x4000) is left alone by overlayd's chain.
    await startWebServer(h2, 'h2-host', 8082);
    const mark = ['-t', 'mangle', 'POSTROUTING', '-d', h2.ip, '-p', 'tcp', '--dport', '8082', '-j', 'MARK', '--set-xmark', '0x4000/0x4000'];
    await h1.execOk(['iptables', ...mark.slice(0, 2), '-A', ...mark.slice(2)]);
    try {
      expect(await httpGet(pods[0]!.pod, h2.ip, 8082)).toBe(`h2-host saw ${pods[0]!.pod.ip}`);
    } finally {
      await h1.execOk(['iptables', ...mark.slice(0, 2), '-D', ...mark.slice(2)]);
    }
    // Someone flushes overlayd's chains: the next reconcile puts them back.
    await h1.execOk(['iptables', '-t', 'nat', '-F', 'OVERLAYD-POSTRTG']);
    await h1.execOk(['iptables', '-t', 'filter', '-F', 'OVERLAYD-FWD']);
    await waitFor(async () => {
      const now = (await h1.execOk(['iptables-save'])).stdout;
      return now.split('\n').filter((l) => l.startsWith('-A OVERLAYD-POSTRTG')).length === 6 && now.split('\n').filter((l) => l.startsWith('-A OVERLAYD-FWD')).length === 2;
    }, { timeoutMs: 15_000, what: 'overlayd chains restored on h1' });
    await expectFullMesh(pods);
  }));
});

describe('overlayd vxlan with DirectRouting on 3 hosts', () => {
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  let pods: NamedPod[] = [];

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'vxlan', DirectRouting: true } }));
    pods = await podsOnEveryHost(c, od);
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it('routes peers on the same segment directly via their public IP, without vxlan entries', withLogsOnFailure(() => c, async () => {
    for (const [i, h] of c!.hosts.entries()) {
      const routes = await overlaydRoutes(h);
      const want = c!.hosts.map((p, j) => (j === i ? undefined : `${netOf(envs[j]!.FLANNEL_SUBNET!)} via ${p.ip} dev eth0`)).filter(Boolean);
      expect(routes.sort()).toEqual(want.sort());
      expect((await h.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout).not.toMatch(/dst /);
      expect(envs[i]!.FLANNEL_MTU).toBe('1450');
    }
  }));

  it('lets every pod ping and open a TCP connection to the pods on the other hosts', withLogsOnFailure(() => c, async () => {
    await expectFullMesh(pods);
  }));
});
