import { readFileSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure, type Host } from '@pilot/netns';
import {
  etcdLeases, expectFullMesh, keyOf, netOf, overlaydRoutes, podsOnEveryHost, startOverlaydEverywhere, type NamedPod, type Started,
} from './helpers.js';

/**
 * Repair on netlink events: every daemon runs with a reconcile interval of an
 * hour, so whatever comes back within seconds after a hand edit was put back
 * because overlayd saw the kernel's notification, not by the periodic check.
 */

/** Deadline for a repair: far below the hour of the periodic reconcile. */
const REPAIR_MS = 10_000;

/** Kernel entries put back right after a netlink event, from the daemon's metrics. */
const eventRepairs = async (h: Host) =>
  Number(/^overlayd_event_repairs_total (\d+)$/m.exec(await (await fetch(`http://${h.ip}:9199/metrics`)).text())?.[1] ?? NaN);

describe('overlayd repairs its kernel entries on netlink events', () => {
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  let pods: NamedPod[] = [];
  const logs = () => c;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'vxlan' } }, ['--reconcile-interval', '1h']));
    pods = await podsOnEveryHost(c, od);
    // Operators' routes, neither in overlayd's protocol: one inside the Network, one outside.
    const h1 = c.hosts[0]!;
    await h1.execOk(['ip', 'route', 'add', '10.1.250.0/24', 'via', c.hosts[1]!.ip]);
    await h1.execOk(['ip', 'route', 'add', '192.0.2.0/24', 'via', c.hosts[1]!.ip, 'proto', 'static']);
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  /** h2 as h1 should have it programmed: its subnet, the VTEP address (.0) and MAC from its lease. */
  async function peer(): Promise<{ net: string; gw: string; mac: string; ip: string }> {
    const net = netOf(envs[1]!.FLANNEL_SUBNET!);
    const mac = (await etcdLeases(c!)).get(keyOf(envs[1]!.FLANNEL_SUBNET!))!.BackendData!.VtepMAC!;
    return { net, gw: net.split('/')[0]!, mac, ip: c!.hosts[1]!.ip };
  }

  /** Which of h1's three entries for the peer are in the kernel. */
  async function entriesOn(h: Host, p: { net: string; gw: string; mac: string; ip: string }) {
    const routes = await overlaydRoutes(h);
    const neigh = (await h.execOk(['ip', 'neigh', 'show', 'dev', 'flannel.1'])).stdout;
    const fdb = (await h.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout;
    return {
      route: routes.includes(`${p.net} via ${p.gw} dev flannel.1 onlink`),
      neigh: neigh.includes(`${p.gw} lladdr ${p.mac} PERMANENT`),
      fdb: fdb.includes(`${p.mac} dst ${p.ip} self permanent`),
    };
  }

  async function waitAllBack(h: Host, what: string): Promise<void> {
    const p = await peer();
    await waitFor(
      async () => {
        const e = await entriesOn(h, p);
        return e.route && e.neigh && e.fdb;
      },
      { timeoutMs: REPAIR_MS, what: `${what}: route, neighbour and FDB entry for ${p.net} back on ${h.name}` },
    );
  }

  it('starts with every entry for the peer in place', withLogsOnFailure(logs, async () => {
    expect(await entriesOn(c!.hosts[0]!, await peer())).toEqual({ route: true, neigh: true, fdb: true });
    expect(await eventRepairs(c!.hosts[0]!)).toBe(0);
  }));

  it('puts back a peer route deleted by hand', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const p = await peer();
    const before = await eventRepairs(h1);
    // No look at the kernel in between: the repair may already have run (150 ms), and execOk proves the entry was there and went.
    await h1.execOk(['ip', 'route', 'del', p.net]);
    await waitAllBack(h1, 'after ip route del');
    expect(await eventRepairs(h1)).toBeGreaterThan(before);
  }));

  it('puts back a neighbour entry deleted by hand', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const p = await peer();
    const before = await eventRepairs(h1);
    await h1.execOk(['ip', 'neigh', 'del', p.gw, 'dev', 'flannel.1']);
    await waitAllBack(h1, 'after ip neigh del');
    expect(await eventRepairs(h1)).toBeGreaterThan(before);
  }));

  it('puts back an FDB entry deleted by hand', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const p = await peer();
    const before = await eventRepairs(h1);
    await h1.execOk(['bridge', 'fdb', 'del', p.mac, 'dev', 'flannel.1', 'dst', p.ip, 'self']);
    await waitAllBack(h1, 'after bridge fdb del');
    expect(await eventRepairs(h1)).toBeGreaterThan(before);
  }));

  it('puts back its address on flannel.1 deleted by hand', withLogsOnFailure(logs, async () => {
    const [h1, s] = [c!.hosts[0]!, od[0]!];
    const addr = netOf(envs[0]!.FLANNEL_SUBNET!).replace('/24', '/32');
    const has = async () => (await h1.execOk(['ip', '-4', 'addr', 'show', 'dev', 'flannel.1'])).stdout.includes(`inet ${addr} `);
    expect(await has()).toBe(true);
    const before = await eventRepairs(h1);
    await h1.execOk(['ip', 'addr', 'del', addr, 'dev', 'flannel.1']);
    // Counted only once the address was put back, and only by a repair an event started (the periodic one is an hour away).
    await waitFor(async () => (await eventRepairs(h1)) > before, { timeoutMs: REPAIR_MS, what: `a repair after ip addr del ${addr} on h1` });
    expect(await has()).toBe(true);
    // The kernel reports the address first; removing a device's last address also flushes its routes and neighbours, put back too.
    expect(s.daemon.log()).toContain(`after: address ${addr} on flannel.1 deleted`);
    await waitAllBack(h1, 'after ip addr del');
  }));

  it('sets flannel.1 up again after it was set down, with the entries the kernel flushed', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    await h1.execOk(['ip', 'link', 'set', 'flannel.1', 'down']);
    await waitFor(async () => /<[^>]*\bUP\b[^>]*>/.test((await h1.execOk(['ip', 'link', 'show', 'flannel.1'])).stdout), {
      timeoutMs: REPAIR_MS,
      what: 'flannel.1 up again on h1',
    });
    await waitAllBack(h1, 'after ip link set flannel.1 down');
  }));

  it('recreates a deleted flannel.1, and the peer learns its new MAC', withLogsOnFailure(logs, async () => {
    const [h1, h2] = [c!.hosts[0]!, c!.hosts[1]!];
    const key = keyOf(envs[0]!.FLANNEL_SUBNET!);
    const oldMac = (await etcdLeases(c!)).get(key)!.BackendData!.VtepMAC!;
    await h1.execOk(['ip', 'link', 'del', 'flannel.1']);
    await waitAllBack(h1, 'after ip link del flannel.1');
    const link = (await h1.execOk(['ip', '-d', 'link', 'show', 'flannel.1'])).stdout;
    expect(link).toMatch(/vxlan id 1 local 172\.\S+ dev eth0 .*dstport 8472 nolearning/);
    expect((await h1.execOk(['ip', '-4', 'addr', 'show', 'dev', 'flannel.1'])).stdout).toContain(`inet ${netOf(envs[0]!.FLANNEL_SUBNET!).replace('/24', '/32')}`);
    const newMac = /link\/ether (\S+)/.exec(link)![1]!;
    expect(newMac).not.toBe(oldMac);
    await waitFor(async () => (await etcdLeases(c!)).get(key)?.BackendData?.VtepMAC === newMac, { timeoutMs: REPAIR_MS, what: `the new VtepMAC in ${key}` });
    await waitFor(async () => (await h2.execOk(['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).stdout.includes(`${newMac} dst ${h1.ip}`), {
      timeoutMs: REPAIR_MS,
      what: 'h2 to point the new MAC at h1',
    });
    await expectFullMesh(pods);
  }));

  it('says in one line that its event socket overflowed and reconciles everything, without a crash', withLogsOnFailure(logs, async () => {
    const [h1, s] = [c!.hosts[0]!, od[0]!];
    const p = await peer();
    // overlayd reads notifications in a child process: stopped, it reads nothing, so a burst of
    // notifications about routes of no concern fills its socket and the kernel drops the one that
    // matters (the peer route deleted after the burst). Only a full reconcile can find that.
    const readers = readFileSync(`/proc/${s.daemon.pid}/task/${s.daemon.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    expect(readers).toHaveLength(1);
    const reader = readers[0]!;
    process.kill(reader, 'SIGSTOP');
    try {
      const burst: string[] = [];
      for (let i = 0; i < 5000; i++) burst.push(`route add 198.18.${i >> 8}.${i & 255}/32 dev eth0`);
      for (let i = 0; i < 5000; i++) burst.push(`route del 198.18.${i >> 8}.${i & 255}/32 dev eth0`);
      await h1.execOk(['ip', '-batch', '-'], { input: burst.join('\n') + '\n', timeoutMs: 60_000 });
      await h1.execOk(['ip', 'route', 'del', p.net]);
    } finally {
      process.kill(reader, 'SIGCONT');
    }
    await waitAllBack(h1, 'after the event socket overflowed');
    expect(s.daemon.running).toBe(true);
    const warnings = s.daemon.log().split('\n').filter((l) => l.includes('"level":40') && l.includes('overflowed (ENOBUFS)'));
    expect(warnings).toHaveLength(1);
    // A new reader listens again, and the next hand edit is repaired on its event.
    await waitFor(() => s.daemon.log().includes('listening to netlink events again'), { timeoutMs: REPAIR_MS, what: 'a new event reader' });
    const before = await eventRepairs(h1);
    await h1.execOk(['ip', 'route', 'del', p.net]);
    await waitFor(async () => (await eventRepairs(h1)) > before, { timeoutMs: REPAIR_MS, what: 'a repair on an event seen by the new reader' });
    await waitAllBack(h1, 'after the new reader saw a route deletion');
  }));

  it('never touched the operators\' routes of other protocols meanwhile', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const routes = (await h1.execOk(['ip', 'route'])).stdout;
    expect(routes).toContain(`10.1.250.0/24 via ${c!.hosts[1]!.ip} dev eth0`);
    expect(routes).toContain(`192.0.2.0/24 via ${c!.hosts[1]!.ip} dev eth0 proto static`);
    // Only the peer's route carries overlayd's protocol.
    expect(await overlaydRoutes(h1)).toEqual([`${netOf(envs[1]!.FLANNEL_SUBNET!)} via ${netOf(envs[1]!.FLANNEL_SUBNET!).split('/')[0]} dev flannel.1 onlink`]);
  }));
});

/** The same with host-gw: routes via the external interface, no device of overlayd's own. */
describe('overlayd host-gw repairs its routes on netlink events', () => {
  let c: Cluster | undefined;
  let od: Started[] = [];
  let envs: Record<string, string>[] = [];
  const logs = () => c;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
    ({ od, envs } = await startOverlaydEverywhere(c, { Network: '10.1.0.0/16', Backend: { Type: 'host-gw' } }, ['--reconcile-interval', '1h']));
  }, 120_000);

  afterAll(async () => {
    await c?.teardown();
  });

  /** h1's route to h2's subnet, as `ip route show proto 79` prints it. */
  const peerRoute = () => `${netOf(envs[1]!.FLANNEL_SUBNET!)} via ${c!.hosts[1]!.ip} dev eth0`;
  async function waitRouteBack(h: Host, before: number, what: string): Promise<void> {
    await waitFor(async () => (await overlaydRoutes(h)).includes(peerRoute()), { timeoutMs: REPAIR_MS, what: `${what}: ${peerRoute()} back on ${h.name}` });
    await waitFor(async () => (await eventRepairs(h)) > before, { timeoutMs: REPAIR_MS, what: `${what}: a repair on an event counted on ${h.name}` });
  }

  it('puts back a peer route deleted by hand, and leaves a hand-added route of another protocol alone', withLogsOnFailure(logs, async () => {
    const [h1, h2] = [c!.hosts[0]!, c!.hosts[1]!];
    // h2's lease may have come after h1's first reconcile: it arrives by the etcd watch.
    await waitFor(async () => (await overlaydRoutes(h1)).includes(peerRoute()), { timeoutMs: REPAIR_MS, what: `${peerRoute()} on h1` });
    await h1.execOk(['ip', 'route', 'add', '10.1.250.0/24', 'via', h2.ip, 'proto', 'static']);
    const before = await eventRepairs(h1);
    await h1.execOk(['ip', 'route', 'del', netOf(envs[1]!.FLANNEL_SUBNET!)]);
    await waitRouteBack(h1, before, 'after ip route del');
    expect((await h1.execOk(['ip', 'route'])).stdout).toContain(`10.1.250.0/24 via ${h2.ip} dev eth0 proto static`);
    expect(await overlaydRoutes(h1)).toEqual([peerRoute()]);
  }));

  it('puts back the routes the kernel flushed while eth0 was down, once it is up', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const before = await eventRepairs(h1);
    // The kernel drops every route via eth0 when it goes down, without a notification per route: only eth0's coming up tells.
    await h1.execOk(['ip', 'link', 'set', 'eth0', 'down']);
    try {
      expect(await overlaydRoutes(h1)).toEqual([]);
    } finally {
      await h1.execOk(['ip', 'link', 'set', 'eth0', 'up']);
      // The harness's default route went with the others; it is no route of overlayd's.
      await h1.execOk(['ip', 'route', 'replace', 'default', 'via', c!.master.ip, 'dev', 'eth0']);
    }
    await waitRouteBack(h1, before, 'after ip link set eth0 down and up');
    expect(od[0]!.daemon.log()).toContain('after: eth0 is up (routes via it may have been flushed)');
    // The operator's route was flushed with eth0 too: overlayd puts back its own routes only.
    expect((await h1.execOk(['ip', 'route'])).stdout).not.toContain('10.1.250.0/24');
  }));
});
