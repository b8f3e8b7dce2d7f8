import { hostname } from 'node:os';
import { cidrFlag, Command, durationFlag, FlagError, intFlag, isIP, listFlag, Option, type FlagWarn } from '@pilot/common';
import { addClientFlags, resolveClient, type ClientConfig } from '../component/flags.js';
import { addServerFlags, resolveServerConfig, type KubeletServerConfig, type RawServerFlags } from './server-flags.js';

/** Everything `pilot kubelet` is configured with, validated (kubelet 1.32's flag names where it has them). */
export interface KubeletConfig extends ClientConfig {
  nodeName: string;
  /** --node-ip; undefined: the first address of the host that is not loopback or a pod bridge. */
  nodeIp?: string;
  containerRuntimeEndpoint: string;
  podInfraContainerImage?: string;
  clusterDns: string[];
  clusterDomain: string;
  resolvConf: string;
  rootDir: string;
  /** --pod-cidr; else read from --subnet-file (overlayd's subnet.env). */
  podCidr?: string;
  subnetFile: string;
  maxPods: number;
  nodeLabels: Record<string, string>;
  registerWithTaints: { key: string; value?: string; effect: string }[];
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  nodeLeaseDurationSeconds: number;
  syncFrequencyMs: number;
  /** First delay of a container restart and of an image pull after a failure (doubling). */
  containerBackoffMs: number;
  containerBackoffMaxMs: number;
  /** --pod-manifest-path: static pod manifests (a directory or one file); undefined: none. */
  podManifestPath?: string;
  /** --file-check-frequency: how often that path is re-read (fs events also trigger a read). */
  fileCheckFrequencyMs: number;
  server: KubeletServerConfig;
}

export interface RawFlags extends RawServerFlags {
  master?: string;
  apiServers?: string;
  kubeconfig?: string;
  hostnameOverride?: string;
  nodeIp?: string;
  containerRuntimeEndpoint?: string;
  dockerEndpoint?: string;
  podInfraContainerImage?: string;
  clusterDns?: string;
  clusterDomain?: string;
  resolvConf?: string;
  rootDir?: string;
  podCidr?: string;
  subnetFile?: string;
  maxPods?: string;
  nodeLabels?: string;
  registerWithTaints?: string;
  nodeStatusUpdateFrequency?: string;
  nodeStatusReportFrequency?: string;
  nodeLeaseDurationSeconds?: string;
  syncFrequency?: string;
  containerBackoff?: string;
  containerBackoffMax?: string;
  podManifestPath?: string;
  fileCheckFrequency?: string;
}

export const DEFAULTS = {
  containerRuntimeEndpoint: 'unix:///var/run/docker.sock',
  clusterDomain: 'cluster.local',
  resolvConf: '/etc/resolv.conf',
  rootDir: '/var/lib/kubelet',
  subnetFile: '/run/flannel/subnet.env',
  maxPods: '110',
  nodeStatusUpdateFrequency: '10s',
  nodeStatusReportFrequency: '5m',
  nodeLeaseDurationSeconds: '40',
  syncFrequency: '1m',
  fileCheckFrequency: '20s',
} as const;

export function kubeletCommand(): Command {
  const cmd = new Command('pilot kubelet').description('runs the pods bound to this node on Docker (kubelet): pause sandbox on the overlay bridge, containers, restarts, status, node registration and lease');
  addClientFlags(cmd);
  cmd
    .addOption(new Option('--api-servers <url>', 'the seed\'s name for --master').hideHelp())
    .option('--hostname-override <name>', 'the node name (default: the host name)')
    .option('--node-ip <ip>', 'the node\'s address (InternalIP, the pods\' hostIP; default: the first non-loopback address)')
    .option('--container-runtime-endpoint <endpoint>', 'dockerd\'s socket', DEFAULTS.containerRuntimeEndpoint)
    .option('--docker-endpoint <endpoint>', 'the older name of --container-runtime-endpoint')
    .option('--pod-infra-container-image <image>', 'the pause image of pod sandboxes (default registry.k8s.io/pause:3.10)')
    .option('--cluster-dns <ips>', 'comma-separated DNS servers of pods with dnsPolicy ClusterFirst (empty: the host\'s resolv.conf)')
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain, in pods\' search paths', DEFAULTS.clusterDomain)
    .option('--resolv-conf <path>', 'the resolv.conf pods with dnsPolicy Default get', DEFAULTS.resolvConf)
    .option('--root-dir <path>', 'the kubelet\'s state (pod volumes)', DEFAULTS.rootDir)
    .option('--pod-cidr <cidr>', 'this node\'s pod CIDR (default: FLANNEL_SUBNET from --subnet-file)')
    .option('--subnet-file <path>', 'overlayd\'s subnet.env, for spec.podCIDR', DEFAULTS.subnetFile)
    .option('--max-pods <n>', 'pods this node takes', DEFAULTS.maxPods)
    .option('--node-labels <k=v,...>', 'labels to register the node with')
    .option('--register-with-taints <k=v:Effect,...>', 'taints to register the node with')
    .option('--node-status-update-frequency <duration>', 'how often the node status is computed (posted on change)', DEFAULTS.nodeStatusUpdateFrequency)
    .option('--node-status-report-frequency <duration>', 'how often the node status is posted when nothing changed', DEFAULTS.nodeStatusReportFrequency)
    .option('--node-lease-duration-seconds <n>', 'duration of the node Lease; renewed every quarter of it', DEFAULTS.nodeLeaseDurationSeconds)
    .option('--sync-frequency <duration>', 'how often every pod is synced when nothing happens', DEFAULTS.syncFrequency)
    .option('--container-backoff <duration>', 'first delay of a container restart or image pull after a failure (doubles each time)', '10s')
    .option('--container-backoff-max <duration>', 'longest such delay', '5m')
    .option('--pod-manifest-path <path>', 'static pods: a directory of Pod manifests (YAML or JSON), or one such file, run without the apiserver and mirrored into it')
    .option('--file-check-frequency <duration>', 'how often --pod-manifest-path is re-read (changes are also picked up from file system events)', DEFAULTS.fileCheckFrequency);
  return addServerFlags(cmd);
}

function parseLabels(flag: string, text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of listFlag(text)) {
    const i = item.indexOf('=');
    if (i <= 0) throw new FlagError(flag, `"${item}" is not key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function parseTaints(text: string | undefined): KubeletConfig['registerWithTaints'] {
  return listFlag(text).map((item) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(item);
    if (!m) throw new FlagError('register-with-taints', `"${item}" is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
    return { key: m[1]!, ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3]! };
  });
}

export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): KubeletConfig {
  const hour = 3_600_000;
  if (f.apiServers && !f.master) warn('--api-servers is deprecated: use --master (or --kubeconfig)');
  const client = resolveClient({ ...(f.master ?? f.apiServers ? { master: f.master ?? listFlag(f.apiServers)[0] } : {}), ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}) });
  const nodeName = (f.hostnameOverride ?? hostname()).trim().toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) throw new FlagError('hostname-override', `"${nodeName}" is not a valid node name (lowercase DNS subdomain)`);
  if (f.nodeIp !== undefined && !isIP(f.nodeIp)) throw new FlagError('node-ip', `"${f.nodeIp}" is not an IP address`);
  let endpoint = f.containerRuntimeEndpoint ?? DEFAULTS.containerRuntimeEndpoint;
  if (f.dockerEndpoint) {
    if (f.containerRuntimeEndpoint && f.containerRuntimeEndpoint !== DEFAULTS.containerRuntimeEndpoint && f.containerRuntimeEndpoint !== f.dockerEndpoint)
      throw new FlagError('docker-endpoint', 'give --container-runtime-endpoint or --docker-endpoint, not both');
    endpoint = f.dockerEndpoint;
  }
  if (!endpoint.startsWith('unix://') && !endpoint.startsWith('/')) throw new FlagError('container-runtime-endpoint', `${endpoint}: only unix:// sockets are supported`);
  const clusterDns = listFlag(f.clusterDns);
  for (const ip of clusterDns) if (!isIP(ip)) throw new FlagError('cluster-dns', `"${ip}" is not an IP address`);
  const updateMs = durationFlag('node-status-update-frequency', f.nodeStatusUpdateFrequency ?? DEFAULTS.nodeStatusUpdateFrequency, 100, hour, { warn });
  // Upstream: an explicit update frequency is also the report frequency unless that is given too.
  const reportText = f.nodeStatusReportFrequency ?? (f.nodeStatusUpdateFrequency !== undefined && f.nodeStatusUpdateFrequency !== DEFAULTS.nodeStatusUpdateFrequency ? f.nodeStatusUpdateFrequency : DEFAULTS.nodeStatusReportFrequency);
  const backoff = durationFlag('container-backoff', f.containerBackoff ?? '10s', 100, hour, { warn });
  const backoffMax = durationFlag('container-backoff-max', f.containerBackoffMax ?? '5m', 100, hour, { warn });
  if (backoffMax < backoff) throw new FlagError('container-backoff-max', `${f.containerBackoffMax} is shorter than --container-backoff ${f.containerBackoff ?? '10s'}`);
  return {
    ...client,
    nodeName,
    ...(f.nodeIp ? { nodeIp: f.nodeIp } : {}),
    containerRuntimeEndpoint: endpoint,
    ...(f.podInfraContainerImage ? { podInfraContainerImage: f.podInfraContainerImage } : {}),
    clusterDns,
    clusterDomain: (f.clusterDomain ?? DEFAULTS.clusterDomain).replace(/\.$/, ''),
    resolvConf: f.resolvConf ?? DEFAULTS.resolvConf,
    rootDir: f.rootDir ?? DEFAULTS.rootDir,
    ...(f.podCidr ? { podCidr: cidrFlag('pod-cidr', f.podCidr) } : {}),
    subnetFile: f.subnetFile ?? DEFAULTS.subnetFile,
    maxPods: intFlag('max-pods', f.maxPods ?? DEFAULTS.maxPods, 1, 10_000),
    nodeLabels: parseLabels('node-labels', f.nodeLabels),
    registerWithTaints: parseTaints(f.registerWithTaints),
    nodeStatusUpdateFrequencyMs: updateMs,
    nodeStatusReportFrequencyMs: durationFlag('node-status-report-frequency', reportText, 100, 24 * hour, { warn }),
    nodeLeaseDurationSeconds: intFlag('node-lease-duration-seconds', f.nodeLeaseDurationSeconds ?? DEFAULTS.nodeLeaseDurationSeconds, 1, 3600),
    syncFrequencyMs: durationFlag('sync-frequency', f.syncFrequency ?? DEFAULTS.syncFrequency, 1000, hour, { warn }),
    containerBackoffMs: backoff,
    containerBackoffMaxMs: backoffMax,
    ...(f.podManifestPath ? { podManifestPath: f.podManifestPath } : {}),
    fileCheckFrequencyMs: durationFlag('file-check-frequency', f.fileCheckFrequency ?? DEFAULTS.fileCheckFrequency, 100, hour, { warn }),
    server: resolveServerConfig(f, warn),
  };
}

