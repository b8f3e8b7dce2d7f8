import { waitFor } from '@pilot/common';
import { Cluster, withLogsOnFailure } from '@pilot/netns';
import { exitLine, keyOf, netOf, overlaydRoutes, putConfig, readEnv, startOverlayd, waitReady, waitSubnetEnv } from './helpers.js';

/**
 * Bad input (one line, exit ≠ 0, nothing programmed), waiting for config and
 * etcd, lease expiry with a short TTL, a full network and a lease taken over
 * while running. Each case uses its own --etcd-prefix on one shared cluster.
 */
describe('overlayd input checks and lease lifecycle', () => {
  let c: Cluster | undefined;
  let n = 0;
  const logs = () => c;
  /** A fresh prefix per case, so the cases share one etcd without seeing each other. */
  const fresh = () => `/t${++n}/network`;

  beforeAll(async () => {
    c = await Cluster.create({ hosts: 2, etcd: true });
  }, 60_000);

  afterEach(async () => {
    // A case that failed half-way must not leave its daemon holding the health port for the next.
    await Promise.all(c!.daemons.filter((d) => d.name.includes('/overlayd')).map((d) => d.stop()));
  });

  afterAll(async () => {
    await c?.teardown();
  });

  const badConfigs: [string, string, RegExp][] = [
    ['malformed JSON', '{"Network": "10.1.0.0/16",', /^overlayd: \/t\d+\/network\/config: network config: malformed JSON/],
    ['a Network too small for SubnetLen', '{"Network":"10.1.0.0/16","SubnetLen":17}', /^overlayd: .*Network 10\.1\.0\.0\/16 cannot hold \/17 subnets/],
    ['an unknown backend', '{"Network":"10.1.0.0/16","Backend":{"Type":"udp"}}', /^overlayd: .*unknown Backend\.Type "udp"/],
  ];
  it.each(badConfigs)('refuses %s in one line and programs nothing', async (_what, config, message) => {
    await withLogsOnFailure(logs, async () => {
      const h = c!.hosts[0]!;
      const prefix = fresh();
      await putConfig(c!, config, prefix);
      const s = startOverlayd(c!, h, ['--etcd-prefix', prefix, '--subnet-file', `${h.stateDir}/bad${n}.env`], `overlayd-bad${n}`);
      const { code, line } = await exitLine(s.daemon);
      expect(code).not.toBe(0);
      expect(line).toMatch(message);
      expect((await h.exec(['ip', 'link', 'show', 'flannel.1'])).exitCode).not.toBe(0);
      expect(await overlaydRoutes(h)).toEqual([]);
    })();
  });

  it('refuses an interface that does not exist', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    const s = startOverlayd(c!, h, ['--etcd-prefix', fresh(), '--iface', 'nosuch0'], 'overlayd-iface');
    const { code, line } = await exitLine(s.daemon);
    expect(code).not.toBe(0);
    expect(line).toMatch(/^overlayd: --iface nosuch0: no such interface/);
  }));

  it('refuses to start with ip_forward off, and says how to fix it', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    await h.sysctl({ 'net.ipv4.ip_forward': '0' });
    try {
      const s = startOverlayd(c!, h, ['--etcd-prefix', fresh()], 'overlayd-fwd');
      const { code, line } = await exitLine(s.daemon);
      expect(code).not.toBe(0);
      expect(line).toMatch(/^overlayd: kernel prerequisites missing: net\.ipv4\.ip_forward=0, want 1 \(fix: sysctl -w net\.ipv4\.ip_forward=1\)$/);
    } finally {
      await h.sysctl({ 'net.ipv4.ip_forward': '1' });
    }
  }));

  it('rejects a malformed flag in one line', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    const s = startOverlayd(c!, h, ['--subnet-lease-ttl', 'forever'], 'overlayd-flag');
    const { code, line } = await exitLine(s.daemon);
    expect(code).toBe(2);
    expect(line).toBe('overlayd: --subnet-lease-ttl: "forever" is not a duration (want e.g. 500ms, 30s, 15m, 24h)');
  }));

  it('waits for a missing config and for an unreachable etcd instead of exiting', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    const prefix = fresh();
    const s = startOverlayd(c!, h, ['--etcd-prefix', prefix, '--subnet-file', `${h.stateDir}/wait.env`], 'overlayd-wait');
    await s.daemon.waitForLog(`waiting for the network config at ${prefix}/config`);
    await c!.etcd!.stop();
    try {
      await s.daemon.waitForLog(/etcd: could not read .*retrying/);
      expect(s.daemon.running).toBe(true);
    } finally {
      await c!.etcd!.start();
    }
    await putConfig(c!, { Network: '10.7.0.0/16' }, prefix);
    const env = await waitSubnetEnv(s);
    expect(env.FLANNEL_NETWORK).toBe('10.7.0.0/16');
    await s.daemon.stop();
  }));

  it('only warns when bridge netfilter is off (it starts before Docker loads br_netfilter)', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[1]!;
    const prefix = fresh();
    await putConfig(c!, { Network: '10.5.0.0/16' }, prefix);
    await h.sysctl({ 'net.bridge.bridge-nf-call-iptables': '0' });
    try {
      const s = startOverlayd(c!, h, ['--etcd-prefix', prefix, '--subnet-file', `${h.stateDir}/brnf.env`, '--docker-opts-file', ''], 'overlayd-brnf');
      await waitReady(s);
      expect(s.daemon.log()).toMatch(/"level":40.*net\.bridge\.bridge-nf-call-iptables=0, want 1/);
    } finally {
      await h.sysctl({ 'net.bridge.bridge-nf-call-iptables': '1' });
      await h.exec(['ip', 'link', 'del', 'flannel.1']);
    }
  }));

  it('keeps routes through an etcd outage and picks up lease changes once etcd is back', withLogsOnFailure(logs, async () => {
    const [h1, h2] = [c!.hosts[0]!, c!.hosts[1]!];
    const prefix = fresh();
    await putConfig(c!, { Network: '10.4.0.0/16' }, prefix);
    const args = (f: string) => ['--etcd-prefix', prefix, '--subnet-file', `${f}/outage.env`, '--docker-opts-file', ''];
    const a = startOverlayd(c!, h1, args(h1.stateDir), 'overlayd-outage');
    const b = startOverlayd(c!, h2, args(h2.stateDir), 'overlayd-outage');
    const [envA, envB] = await Promise.all([waitSubnetEnv(a), waitSubnetEnv(b)]);
    const netB = netOf(envB.FLANNEL_SUBNET!);
    await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith(netB)), { what: `h1 route to ${netB}` });
    await c!.etcd!.stop();
    try {
      // Without etcd the known leases still hold: a route deleted by hand during the outage comes back.
      await h1.execOk(['ip', 'route', 'del', netB]);
      await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith(netB)), { timeoutMs: 15_000, what: `h1 to restore ${netB} while etcd is down` });
      expect(a.daemon.running && b.daemon.running).toBe(true);
    } finally {
      await c!.etcd!.start();
    }
    // A host that joins after the outage (a lease put by hand here) reaches h1's kernel: the watch came back.
    // Its subnet is one neither host leased: a fixed one was now and then h1's own, which h1 then
    // rightly treated as taken over.
    const held = [netOf(envA.FLANNEL_SUBNET!), netB];
    const n = [77, 78, 79].find((x) => !held.includes(`10.4.${x}.0/24`))!;
    await c!.etcd!.etcdctl(['put', `${prefix}/subnets/10.4.${n}.0-24`, JSON.stringify({ PublicIP: c!.underlay.nth(99), BackendType: 'vxlan', BackendData: { VtepMAC: '02:00:00:00:77:01' } })]);
    await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith(`10.4.${n}.0/24 via 10.4.${n}.0 dev flannel.1`)), {
      timeoutMs: 30_000,
      what: 'h1 to program a lease put after etcd came back',
    });
    await Promise.all([a.daemon.stop(), b.daemon.stop()]);
    await h1.exec(['ip', 'link', 'del', 'flannel.1']);
    await h2.exec(['ip', 'link', 'del', 'flannel.1']);
  }));

  it('relists when its watch resumes past a compaction, so changes it missed still reach the kernel', withLogsOnFailure(logs, async () => {
    const h1 = c!.hosts[0]!;
    const prefix = fresh();
    await putConfig(c!, { Network: '10.3.0.0/16' }, prefix);
    const lease = (mac: string) => JSON.stringify({ PublicIP: c!.underlay.nth(98), BackendType: 'vxlan', BackendData: { VtepMAC: mac } });
    await c!.etcd!.etcdctl(['put', `${prefix}/subnets/10.3.10.0-24`, lease('02:00:00:00:10:01')]);
    const a = startOverlayd(c!, h1, ['--etcd-prefix', prefix, '--subnet-file', `${h1.stateDir}/compact.env`, '--docker-opts-file', ''], 'overlayd-compact');
    await waitSubnetEnv(a);
    await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith('10.3.10.0/24')), { what: 'h1 route to 10.3.10.0/24' });
    // Freeze overlayd, restart etcd (its watch stream breaks), change the leases and compact the history it would resume from.
    process.kill(a.daemon.pid!, 'SIGSTOP');
    try {
      await c!.etcd!.restart();
      await c!.etcd!.etcdctl(['del', `${prefix}/subnets/10.3.10.0-24`]);
      await c!.etcd!.etcdctl(['put', `${prefix}/subnets/10.3.11.0-24`, lease('02:00:00:00:11:01')]);
      const rev = JSON.parse((await c!.etcd!.etcdctl(['get', `${prefix}/config`, '-w', 'json'])).stdout).header.revision as number;
      expect((await c!.etcd!.etcdctl(['compact', String(rev)])).exitCode).toBe(0);
    } finally {
      process.kill(a.daemon.pid!, 'SIGCONT');
    }
    await waitFor(
      async () => {
        const routes = await overlaydRoutes(h1);
        return routes.some((r) => r.startsWith('10.3.11.0/24 via 10.3.11.0 dev flannel.1')) && !routes.some((r) => r.startsWith('10.3.10.0/24'));
      },
      { timeoutMs: 30_000, what: 'h1 to drop 10.3.10.0/24 and add 10.3.11.0/24 after the compaction' },
    );
    expect(a.daemon.log()).toMatch(/lease watch ended .*listing again/);
    await a.daemon.stop();
    await h1.exec(['ip', 'link', 'del', 'flannel.1']);
  }));

  it('keeps a short-TTL lease alive while running, and the others drop the host once it expires', withLogsOnFailure(logs, async () => {
    const [h1, h2] = [c!.hosts[0]!, c!.hosts[1]!];
    const prefix = fresh();
    await putConfig(c!, { Network: '10.8.0.0/16' }, prefix);
    const args = (f: string) => ['--etcd-prefix', prefix, '--subnet-lease-ttl', '6s', '--subnet-file', `${f}/ttl.env`, '--docker-opts-file', ''];
    const a = startOverlayd(c!, h1, args(h1.stateDir), 'overlayd-ttl');
    const b = startOverlayd(c!, h2, args(h2.stateDir), 'overlayd-ttl');
    const [, envB] = await Promise.all([waitSubnetEnv(a), waitSubnetEnv(b)]);
    const netB = netOf(envB.FLANNEL_SUBNET!);
    await waitFor(async () => (await overlaydRoutes(h1)).some((r) => r.startsWith(netB)), { what: `h1 route to ${netB}` });
    // Outlive the TTL twice over while running: renewals keep the lease.
    const renewals = async () => Number(/^overlayd_lease_renewals_total (\d+)$/m.exec(await (await fetch(`http://${h2.ip}:9199/metrics`)).text())?.[1] ?? 0);
    await waitFor(async () => (await renewals()) >= 4, { timeoutMs: 30_000, what: 'four renewals (8 s, past the 6 s TTL) of h2\'s lease' });
    const key = `${prefix}/subnets/${keyOf(envB.FLANNEL_SUBNET!)}`;
    expect((await c!.etcd!.etcdctl(['get', key, '--print-value-only'])).stdout).toContain(h2.ip);
    // h2's overlayd dies; its lease expires on its own; h1 drops the route.
    await b.daemon.kill('SIGKILL');
    await waitFor(async () => (await c!.etcd!.etcdctl(['get', key, '--print-value-only'])).stdout.trim() === '', { timeoutMs: 20_000, what: `${key} to expire` });
    await waitFor(async () => !(await overlaydRoutes(h1)).some((r) => r.startsWith(netB)), { timeoutMs: 10_000, what: `h1 to drop its route to ${netB}` });
    await a.daemon.stop();
    await h1.exec(['ip', 'link', 'del', 'flannel.1']);
    await h2.exec(['ip', 'link', 'del', 'flannel.1']);
  }));

  it('says in one line when the network is full', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    const prefix = fresh();
    await h.exec(['ip', 'link', 'del', 'flannel.1']); // left by an earlier case, if any
    // A /28 in /30 subnets: SubnetMin .4 .. SubnetMax .12, three subnets, all reserved by other hosts.
    await putConfig(c!, { Network: '10.9.0.0/28', SubnetLen: 30 }, prefix);
    for (const [i, sub] of ['10.9.0.4-30', '10.9.0.8-30', '10.9.0.12-30'].entries()) {
      await c!.etcd!.etcdctl(['put', `${prefix}/subnets/${sub}`, JSON.stringify({ PublicIP: `192.0.2.${i + 1}`, BackendType: 'vxlan' })]);
    }
    const s = startOverlayd(c!, h, ['--etcd-prefix', prefix, '--subnet-file', `${h.stateDir}/full.env`], 'overlayd-full');
    const { code, line } = await exitLine(s.daemon);
    expect(code).not.toBe(0);
    expect(line).toBe('overlayd: network 10.9.0.0/28 is full: all 3 /30 subnets between SubnetMin and SubnetMax are leased');
    expect((await h.exec(['ip', 'link', 'show', 'flannel.1'])).exitCode).not.toBe(0);
  }));

  it('when its subnet is taken over while running, moves to a new one, rewrites subnet.env and exits non-zero', withLogsOnFailure(logs, async () => {
    const h = c!.hosts[0]!;
    const prefix = fresh();
    await putConfig(c!, { Network: '10.6.0.0/16' }, prefix);
    const file = `${h.stateDir}/move.env`;
    const s = startOverlayd(c!, h, ['--etcd-prefix', prefix, '--subnet-file', file, '--docker-opts-file', ''], 'overlayd-move');
    const before = (await waitSubnetEnv(s)).FLANNEL_SUBNET!;
    await waitReady(s);
    await c!.etcd!.etcdctl(['put', `${prefix}/subnets/${keyOf(before)}`, JSON.stringify({ PublicIP: '192.0.2.77', BackendType: 'vxlan' })]);
    const { code, line } = await exitLine(s.daemon);
    expect(code).toBe(3);
    const after = readEnv(file).FLANNEL_SUBNET!;
    expect(after).not.toBe(before);
    expect(line).toBe(`overlayd: subnet changed from ${netOf(before)} to ${netOf(after)}; wrote ${file}, restart Docker with it`);
    const addr = (await h.execOk(['ip', '-4', 'addr', 'show', 'dev', 'flannel.1'])).stdout;
    expect(addr).toContain(`inet ${netOf(after).replace('/24', '/32')}`);
    expect(addr).not.toContain(`inet ${netOf(before).replace('/24', '/32')}`);
  }));
});
