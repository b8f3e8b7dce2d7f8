import { mkdirSync } from 'node:fs';
import { waitFor } from '@pilot/common';
import { etcdArgv, etcdHealthy, type Daemon } from '@pilot/orchestrator-core/up';
import type { DaemonHost } from './daemon.js';

/**
 * A real etcd server in the master namespace, listening on the master's
 * underlay address (reachable from every host and from the root namespace)
 * and on the master's loopback. Stop and start keep the data directory.
 */
export class Etcd {
  readonly dataDir: string;
  clientPort = 0;
  private peerPort = 0;
  private daemon: Daemon | undefined;

  constructor(readonly host: DaemonHost) {
    this.dataDir = `${host.stateDir}/etcd`;
  }

  /** Client URL on the underlay, e.g. http://172.30.3.2:23456. */
  get endpoint(): string {
    return `http://${this.host.ip}:${this.clientPort}`;
  }

  get running(): boolean {
    return this.daemon?.running ?? false;
  }

  /** The etcd process (nsenter execs it, so this is etcd itself), while it runs. */
  get pid(): number | undefined {
    return this.daemon?.running ? this.daemon.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.daemon) {
      this.daemon.start();
    } else {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      this.clientPort = await this.host.freePort();
      do this.peerPort = await this.host.freePort();
      while (this.peerPort === this.clientPort);
      // The command line `pilot up` runs etcd with (orchestrator-core's up/etcd.ts).
      this.daemon = this.host.spawn(
        'etcd',
        etcdArgv({
          name: 'master',
          dataDir: this.dataDir,
          clientUrls: [this.endpoint, `http://127.0.0.1:${this.clientPort}`],
          advertiseClientUrl: this.endpoint,
          peerUrl: `http://127.0.0.1:${this.peerPort}`,
        }),
      );
    }
    await this.waitHealthy();
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.daemon?.running) throw new Error(`etcd exited: ${JSON.stringify(this.daemon?.exit)}`);
        return etcdHealthy(this.endpoint);
      },
      { timeoutMs, what: `etcd at ${this.endpoint} to be healthy` },
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

  /** Runs etcdctl (v3 API) against this server from the master namespace. */
  etcdctl(args: readonly string[]) {
    return this.host.exec(['etcdctl', `--endpoints=${this.endpoint}`, ...args], { env: { ETCDCTL_API: '3' } });
  }
}
