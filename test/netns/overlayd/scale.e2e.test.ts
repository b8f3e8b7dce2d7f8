import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure, type NetnsPod } from '@pilot/netns';
import { etcdLeases, keyOf, overlaydRoutes, ping, startOverlaydEverywhere, type Started } from './helpers.js';

/** 20 hosts started at once: distinct subnets, a full route table everywhere, every pod reachable from every pod. */
describe('overlayd on 20 hosts started at once', () => {
  const N = 20;
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  const pods: NetnsPod[] = [];

  beforeAll(withLogsOnFailure(() => c, async () => {
    c = await Cluster.create({ hosts: N, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } }, ['--reconcile-interval', '5s'], 60_000));
    for (const [i, h] of c.hosts.entries()) {
      await h.configureBridgeFromSubnetEnv(od[i]!.subnetFile);
      pods.push(await h.addPod());
    }
  }), 180_000);

  afterAll(async () => {
    await c?.teardown();
  });

  it('gives every host its own subnet, recorded in etcd under its public IP', withLogsOnFailure(() => c, async () => {
    const subnets = envs.map((e) => e.FLANNEL_SUBNET!);
    expect(new Set(subnets).size).toBe(N);
    const leases = await etcdLeases(c!);
    expect(leases.size).toBe(N);
    for (const [i, h] of c!.hosts.entries()) expect(leases.get(keyOf(subnets[i]!))?.PublicIP).toBe(h.ip);
  }));

  it('programs a route to every other host\'s subnet on every host', withLogsOnFailure(() => c, async () => {
    await Promise.all(
      c!.hosts.map((h) => waitFor(async () => (await overlaydRoutes(h)).length === N - 1, { timeoutMs: 30_000, what: `${N - 1} overlay routes on ${h.name}` })),
    );
  }));

  it('lets every pod ping every pod on the other hosts', withLogsOnFailure(() => c, async () => {
    const pairs = pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => [a, b] as const));
    const failed: string[] = [];
    // Batches keep the 380 pings from starting 380 processes at once on two cores.
    for (let i = 0; i < pairs.length; i += 40) {
      await Promise.all(
        pairs.slice(i, i + 40).map(async ([a, b]) => {
          const ok = await waitFor(() => ping(a, b.ip), { timeoutMs: 15_000, intervalMs: 200, what: `${a.ip} → ${b.ip}` }).catch(() => false);
          if (!ok) failed.push(`${a.host.name} ${a.ip} → ${b.host.name} ${b.ip}`);
        }),
      );
    }
    expect(failed).toEqual([]);
  }));
});
