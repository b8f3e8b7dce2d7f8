import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure } from '@pilot/netns';
import {
  etcdLeases, expectFullMesh, keyOf, netOf, OVERLAYD_BIN, overlaydRoutes, podsOnEveryHost, PREFIX, readEnv, startOverlaydEverywhere, waitReady, type NamedPod, type Started,
} from './helpers.js';

/**
 * Three hosts with overlayd and the vxlan backend, pods on each host's bridge
 * (configured from subnet.env as dockerd --bip would), then the lease
 * lifecycle: restarts, leases deleted by hand, entries changed by hand.
 */
describe('overlayd vxlan on 3 hosts', () => {
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  let pods: NamedPod[] = [];
  const logs = () => c;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 3, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } }));
    pods = await podsOnEveryHost(c, od);
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it('keeps one lease per host in etcd, each matching that host\'s subnet.env', withLogsOnFailure(logs, async () => {
    const leases = await etcdLeases(c!);
    expect(leases.size).toBe(3);
    for (const [i, h] of c!.hosts.entries()) {
      const env = envs[i]!;
      expect(env.FLANNEL_NETWORK).toBe('10.1.0.0/16');
      expect(env.FLANNEL_SUBNET).toMatch(/^10\.1\.\d+\.1\/24$/);
      expect(env.FLANNEL_MTU).toBe('1450');
      expect(env.FLANNEL_IPMASQ).toBe('false');
      const lease = leases.get(keyOf(env.FLANNEL_SUBNET!));
      expect(lease).toMatchObject({ PublicIP: h.ip, BackendType: 'vxlan', NodeName: h.name });
      expect(lease!.BackendData!.VtepMAC).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    expect(new Set(envs.map((e) => e.FLANNEL_SUBNET)).size).toBe(3);
    const opts = readEnv(od[0]!.dockerOptsFile);
    expect(opts.DOCKER_OPTS!.trim()).toBe(`--bip=${envs[0]!.FLANNEL_SUBNET} --mtu=1450`);
  }));

  it('lets every pod ping and open a TCP connection to the pods on the other hosts', withLogsOnFailure(logs, async () => {
    await expectFullMesh(pods);
  }));

  it('programs flannel.1 the way flannel does: /32 address, neighbour, FDB entry and onlink route per peer', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const link = await h1.execOk(['ip', '-d', 'link', 'show', 'flannel.1']);
    expect(link.stdout).toMatch(/mtu 1450/);
    expect(link.stdout).toMatch(/vxlan id 1 local 172\.\S+ dev eth0 .*dstport 8472 nolearning/);
    const addr = await h1.execOk(['ip', '-4', 'addr', 'show', 'dev', 'flannel.1']);
    expect(addr.stdout).toContain(`inet ${netOf(envs[0]!.FLANNEL_SUBNET!).replace('/24', '/32')}`);
    const leases = await etcdLeases(c!);
    const routes = await overlaydRoutes(h1);
    const neigh = (await h1.execOk(['ip', 'neigh', 'show', 'dev', 'flannel.1'])).stdout;
    const fdb = (await h1.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout;
    for (const [i, peer] of c!.hosts.entries()) {
      if (i === 0) continue;
      const net = netOf(envs[i]!.FLANNEL_SUBNET!);
      const gw = net.split('/')[0]!;
      const mac = leases.get(keyOf(envs[i]!.FLANNEL_SUBNET!))!.BackendData!.VtepMAC!;
      expect(routes).toContain(`${net} via ${gw} dev flannel.1 onlink`);
      expect(neigh).toContain(`${gw} lladdr ${mac} PERMANENT`);
      expect(fdb).toContain(`${mac} dst ${peer.ip} self permanent`);
    }
    expect(routes).toHaveLength(2);
  }));

  it('accepts pod-network traffic in FORWARD through its own chain and serves health and metrics', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const save = (await h1.execOk(['iptables-save', '-t', 'filter'])).stdout;
    expect(save).toContain('-A FORWARD -m comment --comment "overlayd forward" -j OVERLAYD-FWD');
    expect(save).toContain('-A OVERLAYD-FWD -s 10.1.0.0/16 -m comment --comment "overlayd forward" -j ACCEPT');
    expect(save).toContain('-A OVERLAYD-FWD -d 10.1.0.0/16 -m comment --comment "overlayd forward" -j ACCEPT');
    const health = await fetch(`http://${h1.ip}:9199/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://${h1.ip}:9199/metrics`)).text();
    expect(metrics).toMatch(/^overlayd_leases_known 3$/m);
    expect(metrics).toMatch(/^overlayd_routes_programmed 2$/m);
    expect(metrics).toMatch(/^overlayd_reconcile_repairs_total \d+$/m);
    expect(metrics).toMatch(/^overlayd_etcd_errors_total \d+$/m);
    expect(metrics).toMatch(/^overlayd_lease_renewals_total \d+$/m);
  }));

  it('puts back a route deleted by hand and leaves a hand-added route alone', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const net2 = netOf(envs[1]!.FLANNEL_SUBNET!);
    await h1.execOk(['ip', 'route', 'del', net2]);
    // An operator's route inside and one outside the Network, neither in overlayd's protocol.
    await h1.execOk(['ip', 'route', 'add', '10.1.250.0/24', 'via', c!.hosts[1]!.ip]);
    await h1.execOk(['ip', 'route', 'add', '192.0.2.0/24', 'via', c!.hosts[2]!.ip]);
    await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith(`${net2} via`)), { timeoutMs: 15_000, what: `route to ${net2} back on h1` });
    await expectFullMesh(pods);
    // A neighbour entry deleted by hand is a repair too; once the counter moves, at least one more reconcile has run past the hand-added routes.
    const repairs = async () => Number(/^overlayd_reconcile_repairs_total (\d+)$/m.exec(await (await fetch(`http://${h1.ip}:9199/metrics`)).text())![1]);
    const before = await repairs();
    await h1.execOk(['ip', 'neigh', 'del', netOf(envs[2]!.FLANNEL_SUBNET!).split('/')[0]!, 'dev', 'flannel.1']);
    await waitFor(async () => (await repairs()) > before, { timeoutMs: 15_000, what: 'a reconcile repair after deleting a neighbour entry' });
    const routes = (await h1.execOk(['ip', 'route'])).stdout;
    expect(routes).toContain(`10.1.250.0/24 via ${c!.hosts[1]!.ip} dev eth0`);
    expect(routes).toContain(`192.0.2.0/24 via ${c!.hosts[2]!.ip} dev eth0`);
    await h1.execOk(['ip', 'route', 'del', '10.1.250.0/24']);
    await h1.execOk(['ip', 'route', 'del', '192.0.2.0/24']);
  }));

  it('keeps its subnet and connectivity across a restart', withLogsOnFailure(logs, async () => {
    const s = od[0]!;
    const before = readEnv(s.subnetFile).FLANNEL_SUBNET;
    const leasesBefore = await etcdLeases(c!);
    await s.daemon.stop();
    expect(s.daemon.exit?.code).toBe(0);
    // A clean stop keeps the lease: the others keep their routes to this host.
    expect(await etcdLeases(c!)).toEqual(leasesBefore);
    await expectFullMesh(pods);
    s.daemon.start();
    await waitReady(s);
    expect(readEnv(s.subnetFile).FLANNEL_SUBNET).toBe(before);
    expect(await etcdLeases(c!)).toEqual(leasesBefore);
    await expectFullMesh(pods);
  }));

  it('takes over a host from flanneld’s own command line (Go-style -flag=value) with the same lease', withLogsOnFailure(logs, async () => {
    const s = od[1]!;
    const before = readEnv(s.subnetFile).FLANNEL_SUBNET;
    const leasesBefore = await etcdLeases(c!);
    await s.daemon.stop();
    // As a flanneld unit file writes it: single dashes, =values, a bare boolean and =false.
    const daemon = s.host.spawn('overlayd-go-flags', [
      process.execPath, OVERLAYD_BIN,
      `-etcd-endpoints=${c!.etcd!.endpoint}`, `-etcd-prefix=${PREFIX}`, '-iface=eth0', '-ip-masq=false',
      `-subnet-file=${s.subnetFile}`, '-docker-opts-file', s.dockerOptsFile, `-node-name=${s.host.name}`, '-reconcile-interval=1s',
    ]);
    od[1] = { ...s, daemon };
    await waitReady(od[1]);
    expect(readEnv(s.subnetFile).FLANNEL_SUBNET).toBe(before);
    expect(await etcdLeases(c!)).toEqual(leasesBefore);
    await expectFullMesh(pods);
  }));

  it('recreates a deleted vxlan device and the other hosts learn its new MAC', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const key = keyOf(envs[0]!.FLANNEL_SUBNET!);
    const oldMac = (await etcdLeases(c!)).get(key)!.BackendData!.VtepMAC!;
    await h1.execOk(['ip', 'link', 'del', 'flannel.1']);
    await waitFor(async () => {
      const mac = (await etcdLeases(c!)).get(key)?.BackendData?.VtepMAC;
      return mac !== undefined && mac !== oldMac;
    }, { timeoutMs: 15_000, what: `a new VtepMAC in ${key}` });
    const newMac = (await etcdLeases(c!)).get(key)!.BackendData!.VtepMAC!;
    expect((await h1.execOk(['ip', '-d', 'link', 'show', 'flannel.1'])).stdout).toContain(`link/ether ${newMac}`);
    await waitFor(async () => (await c!.hosts[1]!.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout.includes(`${newMac} dst ${h1.ip}`), {
      timeoutMs: 15_000,
      what: 'h2 to point the new MAC at h1',
    });
    expect((await c!.hosts[1]!.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout).not.toContain(oldMac);
    await expectFullMesh(pods);
  }));

  it('leases its own subnet again when its lease is deleted while it runs', withLogsOnFailure(logs, async () => {
    const s = od[1]!;
    const key = keyOf(envs[1]!.FLANNEL_SUBNET!);
    const del = await c!.etcd!.etcdctl(['del', `${PREFIX}/subnets/${key}`]);
    expect(del.stdout.trim()).toBe('1');
    await waitFor(async () => (await etcdLeases(c!)).get(key)?.PublicIP === s.host.ip, { timeoutMs: 15_000, what: `${key} leased again by ${s.host.name}` });
    expect(s.daemon.running).toBe(true);
    expect(readEnv(s.subnetFile).FLANNEL_SUBNET).toBe(envs[1]!.FLANNEL_SUBNET);
    await expectFullMesh(pods);
  }));

  it('drops a dead host\'s entries everywhere when its lease goes, also on a host that was down meanwhile', withLogsOnFailure(logs, async () => {
    const [h1, h2, h3] = [c!.hosts[0]!, c!.hosts[1]!, c!.hosts[2]!];
    const net3 = netOf(envs[2]!.FLANNEL_SUBNET!);
    const gw3 = net3.split('/')[0]!;
    const key3 = keyOf(envs[2]!.FLANNEL_SUBNET!);
    const mac3 = (await etcdLeases(c!)).get(key3)!.BackendData!.VtepMAC!;
    // h2's overlayd is down while h3's lease disappears; h3's overlayd dies without a word.
    await od[1]!.daemon.stop();
    await od[2]!.daemon.kill('SIGKILL');
    expect((await c!.etcd!.etcdctl(['del', `${PREFIX}/subnets/${key3}`])).stdout.trim()).toBe('1');
    await waitFor(
      async () => {
        const routes = await overlaydRoutes(h1);
        const neigh = (await h1.execOk(['ip', 'neigh', 'show', 'dev', 'flannel.1'])).stdout;
        const fdb = (await h1.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout;
        return !routes.some((r) => r.startsWith(net3)) && !neigh.includes(gw3) && !fdb.includes(mac3);
      },
      { timeoutMs: 15_000, what: `h1 to drop route, neighbour and FDB entry of ${net3}` },
    );
    // Left behind on h2 while it was down (flannel's issue #2554)...
    expect((await overlaydRoutes(h2)).some((r) => r.startsWith(net3))).toBe(true);
    od[1]!.daemon.start();
    await waitReady(od[1]!);
    // ...and gone once it is back.
    await waitFor(async () => !(await overlaydRoutes(h2)).some((r) => r.startsWith(net3)), { timeoutMs: 15_000, what: `h2 to drop its leftover route to ${net3}` });
    expect((await h2.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout).not.toContain(mac3);
    // h3 comes back: it takes its old subnet again (free, and named in its subnet.env).
    od[2]!.daemon.start();
    await waitReady(od[2]!);
    expect(readEnv(od[2]!.subnetFile).FLANNEL_SUBNET).toBe(envs[2]!.FLANNEL_SUBNET);
    expect((await etcdLeases(c!)).get(key3)?.PublicIP).toBe(h3.ip);
    await expectFullMesh(pods);
  }));
});
