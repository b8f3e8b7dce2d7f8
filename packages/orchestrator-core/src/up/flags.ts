import { hostname } from 'node:os';
import { Command, FlagError, Option, cidrFlag, durationFlag, ipv4Flag, portFlag, type FlagWarn } from '@pilot/common';

/**
 * `pilot up`, `pilot status` and `pilot down`: flags → plain data. Every
 * default is the seed's (pod network 10.1.0.0/16, services 10.0.0.0/24, DNS
 * 10.0.0.10 in cluster.local), so `pilot up` needs none; `status` and `down`
 * take only the state dir `up` was given, where `up` recorded the rest.
 */

export const DEFAULT_STATE_DIR = '/var/lib/pilot';

export interface UpConfig {
  stateDir: string;
  nodeName: string;
  /** Undefined: the default route's source address (found at start). */
  nodeIp?: string;
  /** Undefined: the default route's interface (found at start). */
  iface?: string;
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string;
  clusterDomain: string;
  securePort: number;
  insecurePort: number;
  /** etcd's client port on 127.0.0.1; its peer port is the next one. */
  etcdPort: number;
  /** An image store (a docker-registry root `registry/` and `pause.tar`) served to the node's dockerd as its Docker Hub mirror. */
  imageStore?: string;
  registryPort: number;
  /** dockerd's --cgroup-parent: every container process of the cluster is found there (and killed by `down`). */
  cgroupParent: string;
  output: 'text' | 'json';
  /** Run the supervisor in this process instead of detaching it (for a service manager). */
  foreground: boolean;
  /** Internal: this process is the detached supervisor of an `up` that prepared the state dir. */
  supervise: boolean;
  /** How long `up` waits until the node is Ready and DNS answers inside a pod. */
  waitMs: number;
}

export interface UpRawFlags {
  stateDir?: string;
  nodeName?: string;
  nodeIp?: string;
  iface?: string;
  clusterCidr?: string;
  serviceClusterIpRange?: string;
  clusterDns?: string;
  clusterDomain?: string;
  securePort?: string;
  insecurePort?: string;
  etcdPort?: string;
  imageStore?: string;
  registryPort?: string;
  cgroupParent?: string;
  output?: string;
  foreground?: boolean;
  supervise?: boolean;
  wait?: string;
}

function addStateDir(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', 'where the cluster keeps everything it writes (data, certificates, sockets, logs, PIDs)', DEFAULT_STATE_DIR);
}

export function upCommand(): Command {
  return addStateDir(new Command('pilot up').description(
    'start a single-machine cluster (etcd, apiserver, scheduler, controller-manager, overlayd, dockerd, kubelet, svcproxy, dnsd), wait until the node is Ready, write a kubeconfig and return; the cluster keeps running under a supervisor',
  ))
    .option('--node-name <name>', 'the node name (default: the host name)')
    .option('--node-ip <ip>', "the node's address (default: the default route's source address)")
    .option('--iface <name>', "overlayd's interface (default: the default route's)")
    .option('--cluster-cidr <cidr>', 'pod network', '10.1.0.0/16')
    .option('--service-cluster-ip-range <cidr>', 'ClusterIP range of Services', '10.0.0.0/24')
    .option('--cluster-dns <ip>', 'cluster DNS service address (inside the service range)', '10.0.0.10')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .option('--secure-port <port>', "apiserver's TLS port", '6443')
    .option('--insecure-port <port>', "apiserver's plain-HTTP port on 127.0.0.1", '8080')
    .option('--etcd-port <port>', "etcd's client port on 127.0.0.1 (the peer port is the next one)", '2379')
    .option('--image-store <dir>', "a docker-registry root (registry/) and pause.tar, served to the node's dockerd as its Docker Hub mirror (default: pull from Docker Hub)")
    .option('--registry-port <port>', 'port of that registry on 127.0.0.1', '5000')
    .option('--cgroup-parent <path>', "dockerd's --cgroup-parent for every container of the cluster", '/pilot')
    .option('--output <format>', 'progress as text lines or one JSON event per step (text|json)', 'text')
    .option('--foreground', 'run the supervisor in this process (for a service manager) instead of detaching it', false)
    .option('--wait <duration>', 'how long to wait until the node is Ready and DNS answers inside a pod', '3m')
    .addOption(new Option('--supervise', 'internal: be the detached supervisor of a prepared state dir').hideHelp().default(false));
}

export function statusCommand(): Command {
  return addStateDir(new Command('pilot status').description("show each component of the `pilot up` cluster, its PID and its health (exit 1 unless all are healthy)"));
}

export function downCommand(): Command {
  return addStateDir(new Command('pilot down').description(
    'stop every process `pilot up` started (by recorded PID) and remove its containers, iptables rules, links, routes and mounts, leaving the host as it was; data stays for the next `up` unless --purge',
  )).option('--purge', 'also remove the state dir (data, certificates, logs)', false);
}

export function resolveUpConfig(f: UpRawFlags, warn: FlagWarn): UpConfig {
  const output = f.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new FlagError('output', `"${output}" is not text or json`);
  const clusterCidr = cidrFlag('cluster-cidr', f.clusterCidr ?? '10.1.0.0/16');
  const serviceCidr = cidrFlag('service-cluster-ip-range', f.serviceClusterIpRange ?? '10.0.0.0/24');
  const clusterDns = ipv4Flag('cluster-dns', f.clusterDns ?? '10.0.0.10');
  const etcdPort = portFlag('etcd-port', f.etcdPort ?? '2379');
  if (etcdPort === 0 || etcdPort === 65535) throw new FlagError('etcd-port', `${etcdPort} leaves no port for etcd's peer URL`);
  const cgroupParent = f.cgroupParent ?? '/pilot';
  if (!/^\/[\w.-]+$/.test(cgroupParent)) throw new FlagError('cgroup-parent', `"${cgroupParent}" is not one top-level cgroup such as /pilot`);
  return {
    stateDir: stateDirFlag(f.stateDir),
    nodeName: f.nodeName ?? hostname(),
    ...(f.nodeIp !== undefined ? { nodeIp: ipv4Flag('node-ip', f.nodeIp) } : {}),
    ...(f.iface !== undefined ? { iface: f.iface } : {}),
    clusterCidr,
    serviceCidr,
    clusterDns,
    clusterDomain: f.clusterDomain ?? 'cluster.local',
    securePort: portFlag('secure-port', f.securePort ?? '6443'),
    insecurePort: portFlag('insecure-port', f.insecurePort ?? '8080'),
    etcdPort,
    ...(f.imageStore !== undefined ? { imageStore: f.imageStore } : {}),
    registryPort: portFlag('registry-port', f.registryPort ?? '5000'),
    cgroupParent,
    output,
    foreground: f.foreground === true,
    supervise: f.supervise === true,
    waitMs: durationFlag('wait', f.wait ?? '3m', 1_000, 3_600_000, { warn }),
  };
}

export function stateDirFlag(v: string | undefined): string {
  const dir = (v ?? DEFAULT_STATE_DIR).replace(/\/+$/, '');
  if (!dir.startsWith('/') || dir === '') throw new FlagError('state-dir', `"${v}" is not an absolute path`);
  return dir;
}
