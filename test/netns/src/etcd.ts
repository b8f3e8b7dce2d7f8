import { mkdirSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { etcdArgv, etcdHealthy, type Daemon, type EtcdClientTls, type EtcdServerTls } from '@pilot/orchestrator-core/up';
import type { DaemonHost } from './daemon.js';

/** An etcd that speaks only TLS and wants client certificates; `client` is the one the harness itself (health, etcdctl) and, unless told otherwise, the apiserver use. */
export interface EtcdTlsOptions {
  server: EtcdServerTls;
  client: EtcdClientTls;
}

/**
 * What the suites use of the run's etcd, one member or three: `endpoint` is
 * what a client is given (`--etcd-servers`, `--etcd-endpoints`), comma
 * separated for a cluster as etcd's own clients take it.
 */
export interface EtcdServer {
  readonly endpoint: string;
  readonly running: boolean;
  /** The (first) etcd process while it runs. */
  readonly pid: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** With TLS (Cluster.startEtcd({ tls })): https:// only, client certificates required. */
  readonly tls?: EtcdTlsOptions | undefined;
  /** Runs etcdctl (v3 API) against every member from the master namespace; with TLS it shows `client` (default: the harness's; null: none). */
  etcdctl(args: readonly string[], client?: EtcdClientTls | null): ReturnType<DaemonHost['exec']>;
}

/**
 * A real etcd server in the master namespace, listening on the master's
 * underlay address (reachable from every host and from the root namespace)
 * and on the master's loopback. Stop and start keep the data directory.
 * Alone by default; a member of an EtcdCluster when given its peers.
 * With `tls`, both are https:// and every client must show a certificate.
 */
export class Etcd implements EtcdServer {
  readonly dataDir: string;
  clientPort = 0;
  peerPort = 0;
  private daemon: Daemon | undefined;
  /** name → peer URL of every member of the cluster this one starts in (itself alone by default). */
  initialCluster: Record<string, string> | undefined;

  constructor(
    readonly host: DaemonHost,
    readonly name = 'master',
    private readonly clusterToken?: string,
    readonly tls?: EtcdTlsOptions,
  ) {
    this.dataDir = `${host.stateDir}/${name === 'master' ? 'etcd' : `etcd-${name}`}`;
  }

  private get scheme(): string {
    return this.tls ? 'https' : 'http';
  }

  /** Client URL on the underlay, e.g. http://172.30.3.2:23456 (https:// with TLS). */
  get endpoint(): string {
    return `${this.scheme}://${this.host.ip}:${this.clientPort}`;
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }

  get running(): boolean {
    return this.daemon?.running ?? false;
  }

  /** The etcd process (nsenter execs it, so this is etcd itself), while it runs. */
  get pid(): number | undefined {
    return this.daemon?.running ? this.daemon.pid : undefined;
  }

  /** Picks the client and peer ports (once; a restart keeps them), avoiding `taken`. */
  async allocatePorts(taken: Set<number> = new Set()): Promise<void> {
    if (this.clientPort) return;
    const pick = async () => {
      let p: number;
      do p = await this.host.freePort();
      while (taken.has(p));
      taken.add(p);
      return p;
    };
    this.clientPort = await pick();
    this.peerPort = await pick();
  }

  /** Starts the process; resolves once it is healthy unless `wait` is false (a member waits for its quorum). */
  async start(wait = true): Promise<void> {
    if (this.daemon) {
      this.daemon.start();
    } else {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      await this.allocatePorts();
      // The command line `pilot up` runs etcd with (orchestrator-core's up/etcd.ts).
      this.daemon = this.host.spawn(
        this.name === 'master' ? 'etcd' : `etcd-${this.name}`,
        etcdArgv({
          name: this.name,
          dataDir: this.dataDir,
          clientUrls: [this.endpoint, `${this.scheme}://127.0.0.1:${this.clientPort}`],
          advertiseClientUrl: this.endpoint,
          peerUrl: this.peerUrl,
          ...(this.initialCluster ? { initialCluster: this.initialCluster } : {}),
          ...(this.clusterToken ? { initialClusterToken: this.clusterToken } : {}),
          ...(this.tls ? { tls: this.tls.server } : {}),
        }),
      );
    }
    if (wait) await this.waitHealthy();
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.daemon?.running) throw new Error(`etcd ${this.name} exited: ${JSON.stringify(this.daemon?.exit)}`);
        return etcdHealthy(this.endpoint, 2_000, this.tls?.client);
      },
      { timeoutMs, what: `etcd ${this.name} at ${this.endpoint} to be healthy` },
    );
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
  }

  async kill(): Promise<void> {
    await this.daemon?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  etcdctl(args: readonly string[], client: EtcdClientTls | null = this.tls?.client ?? null) {
    const tls = this.tls ? [`--cacert=${this.tls.client.caFile}`, ...(client ? [`--cert=${client.certFile}`, `--key=${client.keyFile}`] : [])] : [];
    return this.host.exec(['etcdctl', `--endpoints=${this.endpoint}`, ...tls, ...args], { env: { ETCDCTL_API: '3' } });
  }
}

/**
 * A cluster of etcd members in the master namespace (`m1`, `m2`, …), each
 * with its own ports and data directory, for the failure story: one member
 * stopped leaves a quorum, so no client request fails.
 */
export class EtcdCluster implements EtcdServer {
  readonly members: Etcd[];

  constructor(host: DaemonHost, size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`an etcd cluster needs at least one member, not ${size}`);
    const token = `${host.cluster.prefix}-etcd`;
    this.members = Array.from({ length: size }, (_, i) => new Etcd(host, `m${i + 1}`, token));
  }

  get endpoint(): string {
    return this.members.map((m) => m.endpoint).join(',');
  }

  get running(): boolean {
    return this.members.every((m) => m.running);
  }

  get pid(): number | undefined {
    return this.members[0]!.pid;
  }

  /** Starts every member at once (each waits for a quorum of the others), then waits until all are healthy. */
  async start(): Promise<void> {
    const taken = new Set<number>();
    for (const m of this.members) await m.allocatePorts(taken);
    const initial = Object.fromEntries(this.members.map((m) => [m.name, m.peerUrl]));
    for (const m of this.members) m.initialCluster = initial;
    await Promise.all(this.members.map((m) => m.start(false)));
    await this.waitHealthy();
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.members.map((m) => m.waitHealthy(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  async kill(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
  }

  async restart(): Promise<void> {
    await this.stop();
    await Promise.all(this.members.map((m) => m.start(false)));
    await this.waitHealthy();
  }

  etcdctl(args: readonly string[]) {
    return this.members[0]!.host.exec(['etcdctl', `--endpoints=${this.endpoint}`, ...args], { env: { ETCDCTL_API: '3' } });
  }
}
