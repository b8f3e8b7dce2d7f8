import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Cidr, netnsRunner, parseEnvFile, run, waitFor, type RunResult, type Runner } from '@pilot/common';
import { Daemon, killCgroupProcs, killPidsSync } from '@pilot/orchestrator-core/up';
import { acquireSlot, releaseSlot } from './lock.js';
import { pidsIn, removeLeftovers, removeRun } from './cleanup.js';
import { prefixOf, stateDirOf, underlayOf } from './paths.js';
import type { DaemonHost, ExecOptions } from './daemon.js';
import { Etcd, EtcdCluster, type EtcdServer, type EtcdTlsOptions } from './etcd.js';
import { cgroupParentOf, Dockerd, type DockerdOptions } from './dockerd.js';
import { ensureImages } from './images.js';
import { Registry } from './registry.js';

/**
 * A cluster of hosts built from network namespaces, none of it in the root
 * namespace except one veth:
 *
 *   root ns ──veth── [switch ns: bridge br0] ──veth── master ns (etcd, control plane)
 *                                  │└──────veth── host ns h1 (eth0) ── cbr0 ── pod namespaces
 *                                  └───────veth── host ns h2 ...
 *
 * Every name starts with the run's prefix (`plt<slot>`), which a lock file
 * owns while the run lives; teardown removes all of it, also on failure.
 */

export interface ClusterOptions {
  hosts: number;
  /** Start a real etcd in the master namespace. */
  etcd?: boolean;
  /** With `etcd`: how many members (default 1; 3 for a cluster that survives one member's loss). */
  etcdMembers?: number;
  /** Underlay MTU (default 1500). */
  mtu?: number;
  /** Keep the state directory (logs) after teardown. Also PILOT_KEEP_LOGS=1. */
  keepState?: boolean;
  /**
   * Who answers SIGINT/SIGTERM/SIGHUP: `teardown` (default) removes the run
   * at once and exits; `caller` leaves them to the process, which has its own
   * handler and tears down gracefully (the demo's long-lived owner,
   * demo/owner.ts). Teardown on process exit happens either way.
   */
  signals?: 'teardown' | 'caller';
}

export type { ExecOptions } from './daemon.js';

export interface DnsConfig {
  nameserver: string;
  search?: readonly string[];
  ndots?: number;
}

const live = new Set<Cluster>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Teardown is synchronous, so it also runs from 'exit' and from signals
  // (Ctrl-C, a CI timeout) where nothing asynchronous would complete.
  process.on('exit', () => {
    for (const c of live) c.teardownSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if ([...live].some((c) => c.opts.signals === 'caller')) return;
      for (const c of live) c.teardownSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class Cluster {
  readonly prefix: string;
  readonly stateDir: string;
  readonly underlay: Cidr;
  readonly mtu: number;
  readonly switchNs: string;
  /** The root namespace's own address on the underlay. */
  readonly rootIp: string;
  readonly master: Host;
  readonly hosts: Host[] = [];
  etcd: EtcdServer | undefined;
  readonly daemons: Daemon[] = [];
  private registryStarted: Promise<Registry> | undefined;
  private readonly pids = new Set<number>();
  private tornDown = false;

  private constructor(
    readonly slot: number,
    readonly opts: ClusterOptions,
  ) {
    this.prefix = prefixOf(slot);
    this.stateDir = stateDirOf(this.prefix);
    this.underlay = Cidr.parse(underlayOf(slot));
    this.mtu = opts.mtu ?? 1500;
    this.switchNs = `${this.prefix}-sw`;
    this.rootIp = this.underlay.nth(254);
    this.master = new Host(this, 'master', `${this.prefix}-master`, this.underlay.nth(2));
  }

  /** Builds the switch, master and hosts (and etcd when asked). Tears down on any failure. */
  static async create(opts: ClusterOptions): Promise<Cluster> {
    installExitHandlers();
    removeLeftovers();
    const slot = acquireSlot((s) => removeRun(prefixOf(s)));
    const c = new Cluster(slot, opts);
    live.add(c);
    try {
      await c.build();
      return c;
    } catch (err) {
      await c.teardown();
      throw err;
    }
  }

  private async build(): Promise<void> {
    mkdirSync(`${this.stateDir}/logs`, { recursive: true });
    const sw = this.switchNs;
    await run(['ip', 'netns', 'add', sw]);
    await run(['ip', '-n', sw, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['ip', '-n', sw, 'link', 'set', 'br0', 'mtu', String(this.mtu), 'up']);
    // The switch only bridges; its frames must not meet any iptables chain.
    await run(['ip', 'netns', 'exec', sw, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0'], { check: false });

    // Root namespace's port on the switch, so test code reaches every host directly.
    const rootIf = `${this.prefix}r`;
    await run(['ip', 'link', 'add', rootIf, 'mtu', String(this.mtu), 'type', 'veth', 'peer', 'name', 'root', 'mtu', String(this.mtu), 'netns', sw]);
    await run(['ip', '-n', sw, 'link', 'set', 'root', 'master', 'br0', 'up']);
    await run(['ip', 'addr', 'add', `${this.rootIp}/${this.underlay.prefix}`, 'dev', rootIf]);
    await run(['ip', 'link', 'set', rootIf, 'up']);

    await this.attach(this.master, this.master.switchPort);
    for (let i = 1; i <= this.opts.hosts; i++) {
      const h = new Host(this, `h${i}`, `${this.prefix}-h${i}`, this.underlay.nth(10 + i));
      await this.attach(h, h.switchPort);
      this.hosts.push(h);
    }
    if (this.opts.etcd) {
      const members = this.opts.etcdMembers ?? 1;
      this.etcd = members === 1 ? new Etcd(this.master) : new EtcdCluster(this.master, members);
      await this.etcd.start();
    }
  }

  /**
   * Starts the run's etcd (one member) in the master namespace later than
   * `etcd: true` would, for suites that make its certificates first from the
   * master's address: `startEtcd({ tls })` serves only TLS with client
   * certificates.
   */
  async startEtcd(opts: { tls?: EtcdTlsOptions } = {}): Promise<EtcdServer> {
    if (this.etcd) throw new Error(`cluster ${this.prefix} already has an etcd`);
    const etcd = new Etcd(this.master, 'master', undefined, opts.tls);
    this.etcd = etcd;
    await etcd.start();
    return etcd;
  }

  private async attach(h: Host, port: string): Promise<void> {
    if (h.ip === this.rootIp || !this.underlay.contains(h.ip)) throw new Error(`too many hosts for ${this.underlay.toString()}`);
    const sw = this.switchNs;
    await run(['ip', 'netns', 'add', h.ns]);
    const mtu = String(this.mtu);
    await run(['ip', '-n', sw, 'link', 'add', port, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', mtu, 'netns', h.ns]);
    await run(['ip', '-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
    await run(['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', h.ns, 'addr', 'add', `${h.ip}/${this.underlay.prefix}`, 'dev', 'eth0']);
    await run(['ip', '-n', h.ns, 'link', 'set', 'eth0', 'up']);
    mkdirSync(h.stateDir, { recursive: true });
    if (h !== this.master) {
      // Like a real host: a default route via the underlay (the master does
      // not forward, so nothing leaves the run), forwarding on, bridged
      // traffic through iptables.
      await run(['ip', '-n', h.ns, 'route', 'add', 'default', 'via', this.master.ip, 'dev', 'eth0']);
      await h.sysctl({ 'net.ipv4.ip_forward': '1', 'net.bridge.bridge-nf-call-iptables': '1' });
    }
  }

  /** Every host, master first. */
  get nodes(): Host[] {
    return [this.master, ...this.hosts];
  }

  /**
   * A pod network without overlayd, for suites about what runs on top of
   * it: host i (of `hosts`) gets the bridge 10.1.<i+1>.1/24 and a route to
   * every other one's subnet via that host's underlay address, as overlayd's
   * host-gw backend would program it.
   */
  async staticPodNetwork(hosts: readonly Host[] = this.hosts): Promise<void> {
    const subnet = (i: number) => `10.1.${i + 1}.0/24`;
    for (const [i, h] of hosts.entries()) await h.configureBridge(`10.1.${i + 1}.1/24`);
    for (const [i, h] of hosts.entries()) {
      for (const [j, peer] of hosts.entries()) if (j !== i) await h.execOk(['ip', 'route', 'add', subnet(j), 'via', peer.ip]);
    }
  }

  /**
   * The run's Docker registry in the master namespace, serving the locally
   * built images (built here first when no earlier run did). Started once;
   * pass it to `Host.startDockerd` so dockerd uses it as its Docker Hub mirror.
   */
  startRegistry(): Promise<Registry> {
    this.registryStarted ??= (async () => new Registry(this.master, await ensureImages(this.master)).start())();
    return this.registryStarted;
  }

  /** Registers a daemon started by this run (teardown stops it). */
  track(d: Daemon): Daemon {
    this.daemons.push(d);
    return d;
  }

  rememberPid(pid: number): void {
    this.pids.add(pid);
    try {
      writeFileSync(`${this.stateDir}/pids`, [...this.pids].join('\n') + '\n');
    } catch {
      /* state dir gone during teardown */
    }
  }

  /** The tail of every daemon's log, for a failing test. */
  logs(tailLines = 60): string {
    return this.daemons
      .map((d) => {
        const lines = d.log().trimEnd().split('\n');
        return `==== ${d.spec.logPath} (${d.running ? `running, pid ${d.pid}` : `exited ${JSON.stringify(d.exit)}`})\n${lines.slice(-tailLines).join('\n')}`;
      })
      .join('\n');
  }

  /** Stops daemons gracefully, then removes everything the run created. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    // Containers first, while their dockerd still runs to clean up after them.
    killCgroupProcs(this.prefix);
    await Promise.all(this.daemons.map((d) => d.stop(5_000).catch(() => undefined)));
    this.teardownSync();
  }

  teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    const keepState = this.opts.keepState || process.env.PILOT_KEEP_LOGS === '1';
    removeRun(this.prefix, { keepState, extraPids: [...this.pids] });
    releaseSlot(this.slot);
    live.delete(this);
  }
}

/** A host (or the master): one network namespace on the underlay. */
export class Host implements DaemonHost {
  readonly stateDir: string;
  readonly pods: NetnsPod[] = [];
  private bridge: { gateway: string; subnet: Cidr; mtu: number } | undefined;
  private nextPodIndex = 0;

  /** Every long-running program started in this host (by `spawn`). */
  readonly daemons: Daemon[] = [];
  /** Set once `crash()` removed the host. */
  crashed = false;

  constructor(
    readonly cluster: Cluster,
    readonly name: string,
    readonly ns: string,
    readonly ip: string,
  ) {
    this.stateDir = `${cluster.stateDir}/${name}`;
  }

  /** The host's port on the switch (its eth0's peer in the switch namespace). */
  get switchPort(): string {
    return `p-${this.name}`;
  }

  /** Cuts the host off: its port on the switch goes down, so its eth0 loses carrier. Everything in it keeps running. */
  async disconnect(): Promise<void> {
    await run(['ip', '-n', this.cluster.switchNs, 'link', 'set', this.switchPort, 'down']);
  }

  /** Brings the host's port on the switch back up. */
  async reconnect(): Promise<void> {
    await run(['ip', '-n', this.cluster.switchNs, 'link', 'set', this.switchPort, 'up']);
  }

  /**
   * The host dies: its containers are killed through its dockerd's cgroup,
   * its daemons by PID, whatever else lives in its namespace (dockerd's
   * containerd and shims) by namespace, never by name; then the namespace
   * goes, and with it every link, route and rule in it.
   */
  async crash(): Promise<void> {
    const containers = { name: cgroupParentOf(this.cluster.prefix, this.name) };
    killCgroupProcs(containers);
    // SIGKILL at once: a dead host's processes get no chance to clean up.
    const pids = new Set<number>(this.daemons.flatMap((d) => (d.running && d.pid ? [d.pid] : [])));
    for (const p of pidsIn(this.ns)) pids.add(p);
    if (pids.size) killPidsSync([...pids], 0, 'SIGKILL');
    killCgroupProcs(containers);
    await Promise.all(this.daemons.map((d) => d.waitExit(10_000).catch(() => undefined)));
    await run(['ip', 'netns', 'del', this.ns]);
    this.crashed = true;
  }

  /** Runs a command in the host's network namespace; never throws on exit code. */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run(['nsenter', `--net=/run/netns/${this.ns}`, '--', ...argv], { ...opts, check: false });
  }

  /** A common `Runner` that runs commands in this host (for detectBackend, restore, ...). */
  get runner(): Runner {
    return netnsRunner(this.ns);
  }

  /** Like exec, but a non-zero exit is an error naming the host. */
  async execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    const r = await this.exec(argv, opts);
    if (r.exitCode !== 0) throw new Error(`[${this.name}] ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r;
  }

  async sysctl(values: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(values)) await this.execOk(['sysctl', '-qw', `${k}=${v}`]);
  }

  /** Starts a long-running program in this host; its log lives in the run's log dir. */
  spawn(name: string, argv: readonly string[], opts: { env?: Record<string, string> } = {}): Daemon {
    const d = new Daemon(
      { name: `${this.name}/${name}`, netns: this.ns, argv, env: opts.env, logPath: `${this.cluster.stateDir}/logs/${this.name}-${name}.log` },
      (pid) => this.cluster.rememberPid(pid),
    );
    this.cluster.track(d);
    this.daemons.push(d);
    return d.start();
  }

  /**
   * A real dockerd in this host (see dockerd.ts), with the network options
   * overlayd wrote for it; resolves once its socket answers.
   */
  startDockerd(opts: DockerdOptions = {}): Promise<Dockerd> {
    return new Dockerd(this, opts).start();
  }

  /** A TCP/UDP port nothing listens on in this namespace. */
  async freePort(): Promise<number> {
    const r = await this.execOk(['ss', '-Htuanl']);
    const used = new Set([...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])));
    for (let i = 0; i < 1000; i++) {
      const p = 20000 + Math.floor(Math.random() * 20000);
      if (!used.has(p)) return p;
    }
    throw new Error(`[${this.name}] no free port found`);
  }

  /**
   * Gives the pod bridge (cbr0) its address and MTU, as dockerd --bip/--mtu
   * would from subnet.env. May be called again when the subnet changes.
   */
  async configureBridge(gatewayCidr: string, mtu = this.cluster.mtu): Promise<void> {
    const { ip: gateway, cidr } = Cidr.parseInterface(gatewayCidr);
    const exists = (await this.exec(['ip', 'link', 'show', 'cbr0'])).exitCode === 0;
    if (!exists) await this.execOk(['ip', 'link', 'add', 'cbr0', 'type', 'bridge']);
    await this.execOk(['ip', 'addr', 'flush', 'dev', 'cbr0']);
    await this.execOk(['ip', 'addr', 'add', gatewayCidr, 'dev', 'cbr0']);
    await this.execOk(['ip', 'link', 'set', 'cbr0', 'mtu', String(mtu), 'up']);
    this.bridge = { gateway, subnet: cidr, mtu };
  }

  /** Reads FLANNEL_SUBNET and FLANNEL_MTU from a subnet.env file and configures cbr0. */
  async configureBridgeFromSubnetEnv(path: string): Promise<{ subnet: string; mtu: number }> {
    const env = parseEnvFile(readFileSync(path, 'utf8'));
    const subnet = env.FLANNEL_SUBNET;
    const mtu = Number(env.FLANNEL_MTU);
    if (!subnet || !Number.isInteger(mtu)) throw new Error(`[${this.name}] ${path} lacks FLANNEL_SUBNET/FLANNEL_MTU`);
    await this.configureBridge(subnet, mtu);
    return { subnet, mtu };
  }

  /** A pod: its own namespace with a veth on cbr0 (hairpin on), an address from the bridge subnet. */
  async addPod(opts: { ip?: string; dns?: DnsConfig } = {}): Promise<NetnsPod> {
    if (!this.bridge) throw new Error(`[${this.name}] configure the pod bridge before adding pods`);
    const idx = ++this.nextPodIndex;
    // Pod addresses count up from .2 of the bridge subnet (the gateway is usually .1).
    let ip = opts.ip;
    for (let i = idx + 1; !ip; i++) if (this.bridge.subnet.nth(i) !== this.bridge.gateway && !this.pods.some((p) => p.ip === this.bridge!.subnet.nth(i))) ip = this.bridge.subnet.nth(i);
    const ns = `${this.ns}-p${idx}`;
    const veth = `vp${idx}`;
    await run(['ip', 'netns', 'add', ns]);
    const mtu = String(this.bridge.mtu);
    await this.execOk(['ip', 'link', 'add', veth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', mtu, 'netns', ns]);
    await this.execOk(['ip', 'link', 'set', veth, 'master', 'cbr0', 'up']);
    await this.execOk(['ip', 'link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${ip}/${this.bridge.subnet.prefix}`, 'dev', 'eth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await run(['ip', '-n', ns, 'route', 'add', 'default', 'via', this.bridge.gateway]);
    if (opts.dns) {
      const lines = [`nameserver ${opts.dns.nameserver}`];
      if (opts.dns.search?.length) lines.push(`search ${opts.dns.search.join(' ')}`);
      if (opts.dns.ndots !== undefined) lines.push(`options ndots:${opts.dns.ndots}`);
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns}/resolv.conf`, lines.join('\n') + '\n');
    }
    const pod = new NetnsPod(this, ns, ip);
    this.pods.push(pod);
    return pod;
  }
}

/**
 * A pod of the harness: a network namespace on a host's bridge (NetnsPod, so
 * it never meets @pilot/api's Pod object under one name). Commands run with
 * `ip netns exec`, which also binds its resolv.conf.
 */
export class NetnsPod {
  constructor(
    readonly host: Host,
    readonly ns: string,
    readonly ip: string,
  ) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.ns, ...argv], { ...opts, check: false });
  }

  async execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    const r = await this.exec(argv, opts);
    if (r.exitCode !== 0) throw new Error(`[${this.ns}] ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r;
  }

  /** A long-running program inside the pod (a server for tests). */
  spawn(name: string, argv: readonly string[]): Daemon {
    const c = this.host.cluster;
    const d = new Daemon(
      { name: `${this.ns}/${name}`, netns: this.ns, argv, logPath: `${c.stateDir}/logs/${this.ns}-${name}.log` },
      (pid) => c.rememberPid(pid),
    );
    c.track(d);
    return d.start();
  }
}


/** Polls a TCP connect from a host or pod until it succeeds. */
export async function waitForPort(target: Host | NetnsPod, ip: string, port: number, timeoutMs = 30_000): Promise<void> {
  const probe = new URL('../tools/tcp-connect.mjs', import.meta.url).pathname;
  await waitFor(async () => (await target.exec([process.execPath, probe, ip, String(port)], { timeoutMs: 5_000 })).exitCode === 0, {
    timeoutMs,
    what: `${ip}:${port} to accept connections`,
  });
}
