import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseEnvFile, run, waitFor, writeFileAtomic, type RunResult } from '@pilot/common';
import type { Daemon, DaemonHost } from './daemon.js';
import type { Registry } from './registry.js';

/**
 * A real dockerd in a host namespace, as the contracts ask for it in tests:
 *
 *   nsenter --net=/run/netns/<host> -- dockerd
 *     --data-root/--exec-root/--pidfile/-H unix://   per host, under the run's state dir
 *     --config-file <host>/docker/daemon.json       live-restore, userland-proxy=false,
 *                                                   json-file max-size/max-file, registry mirror
 *     --cgroup-parent /<prefix>-<host>              teardown kills containers by cgroup
 *     --bip --mtu [--ip-masq=false]                 from what overlayd wrote for the host
 *
 * No `--containerd`: dockerd starts its own containerd (socket and pidfile
 * under the exec root), never a system one. Ready means the socket answers
 * `GET /_ping`. With live-restore a stop leaves the containers running (and
 * the next start adopts them); teardown kills them by cgroup.
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

/** dockerd flags from overlayd's docker options file (mk-docker-opts format). */
export function dockerOptsFromFile(path: string): string[] {
  const env = parseEnvFile(readFileSync(path, 'utf8'));
  const opts = env.DOCKER_OPTS;
  if (opts === undefined) throw new Error(`${path} has no DOCKER_OPTS line`);
  return opts.split(/\s+/).filter(Boolean);
}

/** dockerd flags from a subnet.env, as the seed's `dockerd --bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU`. */
export function dockerOptsFromSubnetEnv(path: string): string[] {
  const env = parseEnvFile(readFileSync(path, 'utf8'));
  if (!env.FLANNEL_SUBNET || !env.FLANNEL_MTU) throw new Error(`${path} lacks FLANNEL_SUBNET/FLANNEL_MTU`);
  const out = [`--bip=${env.FLANNEL_SUBNET}`, `--mtu=${env.FLANNEL_MTU}`];
  if (env.FLANNEL_IPMASQ === 'true') out.push('--ip-masq=false');
  return out;
}

/** The cgroup parent of a host's containers (one per host, named after the run's prefix). */
export function cgroupParentOf(prefix: string, hostName: string): string {
  return `/${prefix}-${hostName}`;
}

export class Dockerd {
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidfile: string;
  readonly configFile: string;
  /** The socket path; `unix://` + this is the endpoint for the docker CLI and the kubelet. */
  readonly socket: string;
  readonly cgroupParent: string;
  private daemon: Daemon | undefined;
  private readonly args: string[];

  constructor(
    readonly host: DaemonHost,
    private readonly opts: DockerdOptions = {},
  ) {
    this.dir = `${host.stateDir}/docker`;
    this.dataRoot = `${this.dir}/data`;
    this.execRoot = `${this.dir}/exec`;
    this.pidfile = `${this.dir}/dockerd.pid`;
    this.configFile = `${this.dir}/daemon.json`;
    this.socket = `${this.dir}/docker.sock`;
    this.cgroupParent = cgroupParentOf(host.cluster.prefix, host.name);
    const net = opts.dockerOptsFile ? dockerOptsFromFile(opts.dockerOptsFile) : opts.subnetEnvFile ? dockerOptsFromSubnetEnv(opts.subnetEnvFile) : [];
    this.args = [
      'dockerd',
      '--config-file', this.configFile,
      '--data-root', this.dataRoot,
      '--exec-root', this.execRoot,
      '--pidfile', this.pidfile,
      '-H', `unix://${this.socket}`,
      '--cgroup-parent', this.cgroupParent,
      ...net,
      ...(opts.extraArgs ?? []),
    ];
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
    try {
      const pid = Number(readFileSync(`${this.execRoot}/containerd/containerd.pid`, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The flags dockerd runs with (for a test that checks what it was given). */
  get argv(): readonly string[] {
    return this.args;
  }

  private async writeConfig(): Promise<void> {
    const reg = this.opts.registry;
    const config = {
      'log-level': 'warn',
      'live-restore': true,
      // With the userland proxy off, Docker's bridge driver turns hairpin on for
      // the ports of containers (a pod reaches itself through its hostPort/service).
      'userland-proxy': false,
      'log-driver': 'json-file',
      'log-opts': { 'max-size': this.opts.logMaxSize ?? '10m', 'max-file': String(this.opts.logMaxFile ?? 2) },
      'registry-mirrors': reg ? [reg.url] : [],
      'insecure-registries': reg ? [reg.address] : [],
    };
    await writeFileAtomic(this.configFile, JSON.stringify(config, null, 2) + '\n');
  }

  /** Starts dockerd (again, keeping its data root) and waits until its socket answers. */
  async start(timeoutMs = 30_000): Promise<this> {
    if (this.daemon?.running) throw new Error(`dockerd on ${this.host.name} is already running (pid ${this.daemon.pid})`);
    if (!this.daemon) {
      await this.writeConfig();
      await this.failLookupsFast();
      this.daemon = this.host.spawn('dockerd', this.args);
    } else {
      this.daemon.start();
    }
    await this.waitReady(timeoutMs);
    await this.loadPauseImage();
    return this;
  }

  /**
   * dockerd looks up registry-1.docker.io before it tries the mirror, through
   * the machine's nameservers (/etc/resolv.conf is not per namespace), which
   * the run cannot reach: each lookup would time out (10 s per pull). An
   * unreachable route to them in this host makes it fail at once, and keeps
   * the lookups from leaving the host.
   */
  private async failLookupsFast(): Promise<void> {
    let text = '';
    try {
      text = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return;
    }
    for (const m of text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)) {
      const ip = m[1]!;
      if (ip.startsWith('127.')) continue;
      await this.host.execOk(['ip', 'route', 'replace', 'unreachable', `${ip}/32`]);
    }
  }

  /** Polls `GET /_ping` on the socket until it answers OK, dockerd exits, or the deadline passes. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.daemon?.running) throw new Error(`dockerd on ${this.host.name} exited ${JSON.stringify(this.daemon?.exit)}`);
        return existsSync(this.socket) && (await ping(this.socket));
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
    if (!reg) return;
    const present = await this.docker(['image', 'inspect', '--format', '{{.Id}}', reg.images.pause]);
    if (present.exitCode === 0) return;
    await this.dockerOk(['load', '-q', '-i', reg.images.pauseTar]);
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

/** One `GET /_ping` over the unix socket; false on any error. */
export function ping(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
