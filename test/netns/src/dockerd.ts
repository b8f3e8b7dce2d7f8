import { existsSync, readFileSync } from 'node:fs';
import { run, waitFor, writeFileAtomic, type RunResult } from '@pilot/common';
import {
  containerdPidOf,
  daemonJson,
  dockerdArgv,
  dockerdLayout,
  dockerOptsFromFile,
  dockerOptsFromSubnetEnv,
  loadImageIfMissing,
  pingDocker,
  type Daemon,
  type DockerdLayout,
} from '@pilot/orchestrator-core/up';
import type { DaemonHost } from './daemon.js';
import type { Registry } from './registry.js';

/**
 * A real dockerd in a host namespace, started as `pilot up` starts one
 * (orchestrator-core's up/dockerd.ts: flags, daemon.json, ping), with the
 * harness's parts: `nsenter --net=/run/netns/<host>`, everything under the
 * host's state dir, `--cgroup-parent /<prefix>-<host>` (teardown kills
 * containers by cgroup), the run's registry as its mirror. With live-restore
 * a stop leaves the containers running (and the next start adopts them);
 * teardown kills them by cgroup.
 */

export interface DockerdOptions {
  /** overlayd's docker options file (`DOCKER_OPTS=" --bip=... --mtu=..."`), the deploy/ way. */
  dockerOptsFile?: string;
  /** Or overlayd's subnet.env: `--bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU` (and `--ip-masq=false` when overlayd masquerades). */
  subnetEnvFile?: string;
  /** The run's registry: Docker Hub mirror, insecure registry, and the pause image loaded at start. */
  registry?: Registry;
  /** More dockerd flags (tests: `--bridge=none`, ...). */
  extraArgs?: readonly string[];
  /** json-file rotation (upstream kubelet: containerLogMaxSize 10Mi). */
  logMaxSize?: string;
  logMaxFile?: number;
}

/** The cgroup parent of a host's containers (one per host, named after the run's prefix). */
export function cgroupParentOf(prefix: string, hostName: string): string {
  return `/${prefix}-${hostName}`;
}

export { dockerOptsFromFile, dockerOptsFromSubnetEnv, pingDocker as ping };

export class Dockerd {
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidfile: string;
  readonly configFile: string;
  /** The socket path; `unix://` + this is the endpoint for the docker CLI and the kubelet. */
  readonly socket: string;
  readonly cgroupParent: string;
  private readonly layout: DockerdLayout;
  private daemon: Daemon | undefined;
  private readonly args: string[];

  constructor(
    readonly host: DaemonHost,
    private readonly opts: DockerdOptions = {},
  ) {
    this.layout = dockerdLayout(`${host.stateDir}/docker`);
    this.dir = this.layout.dir;
    this.dataRoot = this.layout.dataRoot;
    this.execRoot = this.layout.execRoot;
    this.pidfile = this.layout.pidfile;
    this.configFile = this.layout.configFile;
    this.socket = this.layout.socket;
    this.cgroupParent = cgroupParentOf(host.cluster.prefix, host.name);
    const net = opts.dockerOptsFile ? dockerOptsFromFile(opts.dockerOptsFile) : opts.subnetEnvFile ? dockerOptsFromSubnetEnv(opts.subnetEnvFile) : [];
    this.args = dockerdArgv(this.layout, { cgroupParent: this.cgroupParent, net, extra: opts.extraArgs ?? [] });
  }

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  get running(): boolean {
    return this.daemon?.running ?? false;
  }

  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  /** The PID of dockerd's own containerd (from its pidfile under the exec root). */
  containerdPid(): number | undefined {
    return containerdPidOf(this.layout);
  }

  /** The flags dockerd runs with (for a test that checks what it was given). */
  get argv(): readonly string[] {
    return this.args;
  }

  private async writeConfig(): Promise<void> {
    const config = daemonJson({ ...(this.opts.registry ? { mirror: this.opts.registry.address } : {}), logMaxSize: this.opts.logMaxSize ?? '10m', logMaxFile: this.opts.logMaxFile ?? 2 });
    await writeFileAtomic(this.configFile, config);
  }

  /** Starts dockerd (again, keeping its data root) and waits until its socket answers. */
  async start(timeoutMs = 30_000): Promise<this> {
    if (this.daemon?.running) throw new Error(`dockerd on ${this.host.name} is already running (pid ${this.daemon.pid})`);
    if (!this.daemon) {
      await this.writeConfig();
      await unreachableNameservers(this.host);
      this.daemon = this.host.spawn('dockerd', this.args);
    } else {
      this.daemon.start();
    }
    await this.waitReady(timeoutMs);
    await this.loadPauseImage();
    return this;
  }

  /** Polls `GET /_ping` on the socket until it answers OK, dockerd exits, or the deadline passes. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.daemon?.running) throw new Error(`dockerd on ${this.host.name} exited ${JSON.stringify(this.daemon?.exit)}`);
        return existsSync(this.socket) && (await pingDocker(this.socket));
      },
      { timeoutMs, intervalMs: 50, what: `dockerd on ${this.host.name} to answer on ${this.socket}` },
    );
  }

  /**
   * The pause image cannot come through a Docker Hub mirror (its name is
   * registry.k8s.io's), so every dockerd gets the locally built one by
   * `docker load` under the upstream name, as a node image would ship it.
   */
  private async loadPauseImage(): Promise<void> {
    const reg = this.opts.registry;
    if (reg) await loadImageIfMissing(this.endpoint, reg.images.pause, reg.images.pauseTar);
  }

  /** SIGTERM (live-restore: containers keep running), SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    await this.daemon?.stop(graceMs);
    await this.waitContainerdGone();
  }

  /** A crash: SIGKILL dockerd (its containerd and the containers stay). */
  async kill(): Promise<void> {
    await this.daemon?.kill('SIGKILL');
  }

  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  /** A clean stop waits for dockerd's containerd too, so the next start does not race it. */
  private async waitContainerdGone(): Promise<void> {
    const pid = this.containerdPid();
    if (!pid) return;
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 15_000, what: `containerd (pid ${pid}) of dockerd on ${this.host.name} to exit` },
    );
  }

  /** The machine's docker CLI against this dockerd. Never throws on exit code. */
  docker(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(['docker', '-H', this.endpoint, ...args], { ...opts, check: false, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  async dockerOk(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await this.docker(args, opts);
    if (r.exitCode !== 0) throw new Error(`[${this.host.name}] docker ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r;
  }

  log(): string {
    return this.daemon?.log() ?? '';
  }
}

/**
 * dockerd looks up registry-1.docker.io before it tries the mirror, through
 * the machine's nameservers (/etc/resolv.conf is not per namespace), which a
 * host of the run cannot reach: each lookup would time out (10 s per pull).
 * An unreachable route to them in the host makes it fail at once, and keeps
 * the lookups from leaving the host. Part of making a host (as its default
 * route is), so a `pilot up` in a host gets it before its dockerd starts too.
 */
export async function unreachableNameservers(host: Pick<DaemonHost, 'execOk'>): Promise<void> {
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return;
  }
  for (const m of text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)) {
    const ip = m[1]!;
    if (ip.startsWith('127.')) continue;
    await host.execOk(['ip', 'route', 'replace', 'unreachable', `${ip}/32`]);
  }
}
