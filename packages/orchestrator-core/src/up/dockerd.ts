import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseEnvFile, run } from '@pilot/common';

/**
 * dockerd as pilot starts it (`pilot up`, and every host of the netns
 * harness), by the contracts:
 *
 *   dockerd --config-file <dir>/daemon.json    live-restore, userland-proxy=false,
 *                                              json-file max-size/max-file, registry mirror
 *     --data-root/--exec-root/--pidfile/-H unix://   its own, under <dir>
 *     --cgroup-parent <parent>                 the containers' processes can be found (and killed) there
 *     --bip --mtu [--ip-masq=false]            from what overlayd wrote for the host
 *
 * No `--containerd`: dockerd starts its own containerd (socket and pidfile
 * under the exec root), never a system one. Ready means the socket answers
 * `GET /_ping`.
 */

export interface DockerdLayout {
  dir: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  configFile: string;
  /** The socket path; `unix://` + this is the endpoint for the docker CLI and the kubelet. */
  socket: string;
}

export function dockerdLayout(dir: string): DockerdLayout {
  return { dir, dataRoot: `${dir}/data`, execRoot: `${dir}/exec`, pidfile: `${dir}/dockerd.pid`, configFile: `${dir}/daemon.json`, socket: `${dir}/docker.sock` };
}

export function dockerdArgv(l: DockerdLayout, opts: { cgroupParent?: string; net?: readonly string[]; extra?: readonly string[] } = {}): string[] {
  return [
    'dockerd',
    '--config-file', l.configFile,
    '--data-root', l.dataRoot,
    '--exec-root', l.execRoot,
    '--pidfile', l.pidfile,
    '-H', `unix://${l.socket}`,
    ...(opts.cgroupParent ? ['--cgroup-parent', opts.cgroupParent] : []),
    ...(opts.net ?? []),
    ...(opts.extra ?? []),
  ];
}

export interface DaemonJsonOptions {
  /** A registry (`host:port`, plain HTTP) used as the Docker Hub mirror and trusted as insecure. */
  mirror?: string;
  /** json-file rotation (upstream kubelet: containerLogMaxSize 10Mi). */
  logMaxSize?: string;
  logMaxFile?: number;
}

/** daemon.json: what the contracts ask of every dockerd pilot configures. */
export function daemonJson(opts: DaemonJsonOptions = {}): string {
  const config = {
    'log-level': 'warn',
    'live-restore': true,
    // With the userland proxy off, Docker's bridge driver turns hairpin on for
    // the ports of containers (a pod reaches itself through its hostPort/service).
    'userland-proxy': false,
    'log-driver': 'json-file',
    'log-opts': { 'max-size': opts.logMaxSize ?? '10m', 'max-file': String(opts.logMaxFile ?? 2) },
    'registry-mirrors': opts.mirror ? [`http://${opts.mirror}`] : [],
    'insecure-registries': opts.mirror ? [opts.mirror] : [],
  };
  return JSON.stringify(config, null, 2) + '\n';
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

/** The PID of dockerd's own containerd (from its pidfile under the exec root). */
export function containerdPidOf(l: DockerdLayout): number | undefined {
  try {
    const pid = Number(readFileSync(`${l.execRoot}/containerd/containerd.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** One `GET /_ping` over the unix socket; false on any error. */
export function pingDocker(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
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

/**
 * `docker load` of an image tarball unless the image is there already. The
 * pause image cannot come through a Docker Hub mirror (its name is
 * registry.k8s.io's), so a node gets it this way, as a node image ships it.
 */
export async function loadImageIfMissing(endpoint: string, image: string, tarball: string): Promise<void> {
  const present = await run(['docker', '-H', endpoint, 'image', 'inspect', '--format', '{{.Id}}', image], { check: false, timeoutMs: 60_000 });
  if (present.exitCode === 0) return;
  await run(['docker', '-H', endpoint, 'load', '-q', '-i', tarball], { timeoutMs: 120_000 });
}
