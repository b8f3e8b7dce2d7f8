import { fileURLToPath } from 'node:url';
import { daemonJson, dockerdArgv, dockerOptsFromFile } from './dockerd.js';
import { etcdArgv } from './etcd.js';
import type { UpConfig } from './flags.js';
import { IMAGE_NAMES } from './image-set.js';
import { registryArgv, registryConfig } from './registry.js';
import type { StateLayout } from './state.js';

/**
 * The single-machine cluster as data: every component `pilot up` starts, in
 * the order an operator installs them (etcd → control plane → overlayd →
 * dockerd from what overlayd wrote → kubelet, svcproxy, dnsd), each with its
 * command line, the files it reads, how to tell it is healthy and what must
 * be healthy before it starts. No I/O here: the supervisor starts each once
 * what it comes after is healthy (independent ones side by side), `status`
 * probes them, `down` stops them in reverse order.
 *
 *   etcd ─┬─ apiserver ─┬─ scheduler, controller-manager, svcproxy, dnsd
 *         │             └──────────────┐
 *         └─ overlayd ── dockerd ──────┴─ kubelet        (registry: on its own, before dockerd pulls)
 */

/** `pilot` itself (dist/bin/pilot.js): every component but etcd, dockerd and the registry is `pilot <component>`. */
export const PILOT_BIN = fileURLToPath(new URL('../bin/pilot.js', import.meta.url));

/** The configuration once the node's address and interface are known (what config.json holds). */
export interface ClusterConfig extends UpConfig {
  nodeIp: string;
  iface: string;
}

export type Probe =
  /** 200 from `url` (and a body matching `body`). */
  | { kind: 'http'; url: string; body?: string }
  /** `GET /_ping` on a unix socket. */
  | { kind: 'docker'; socket: string }
  /** A file exists (overlayd's docker options: it has leased a subnet). */
  | { kind: 'file'; path: string };

/** A step the supervisor takes once a component is healthy. */
export type AfterReady = 'put-network-config' | 'load-pause-image';

export interface Component {
  name: string;
  /** Its command line; dockerd's reads overlayd's options file, so it is built when the component starts. */
  argv(): string[];
  /** Written before each start. */
  files: readonly { path: string; content: string }[];
  /** Healthy when every probe passes. */
  health: readonly Probe[];
  /** The components that must be healthy before this one starts (each listed earlier in the plan). */
  after: readonly string[];
  afterReady?: AfterReady;
}

/** etcd key of overlayd's network config (flannel's), and its value for this cluster: host-gw, one /24 per host. */
export const NETWORK_CONFIG_KEY = '/coreos.com/network/config';

export function networkConfig(c: ClusterConfig): string {
  return JSON.stringify({ Network: c.clusterCidr, SubnetLen: 24, Backend: { Type: 'host-gw' } });
}

export function etcdEndpoint(c: ClusterConfig): string {
  return `http://127.0.0.1:${c.etcdPort}`;
}

/** The apiserver as kubectl and the components on this machine reach it. */
export function apiserverUrl(c: ClusterConfig): string {
  return `https://127.0.0.1:${c.securePort}`;
}

export function registryAddress(c: ClusterConfig): string {
  return `127.0.0.1:${c.registryPort}`;
}

/** The kubeconfig of one component's identity (pki.ts: system:kube-scheduler, system:node:<name>, …), written by `up`. */
export function kubeconfigOf(l: StateLayout, component: KubeconfigFor): string {
  return `${l.pki}/${component}.kubeconfig`;
}

export type KubeconfigFor = 'scheduler' | 'controller-manager' | 'kubelet' | 'svcproxy' | 'dnsd';
export const COMPONENT_IDENTITIES: readonly KubeconfigFor[] = ['scheduler', 'controller-manager', 'kubelet', 'svcproxy', 'dnsd'];

export function kubeletCertFiles(l: StateLayout, c: ClusterConfig): { certFile: string; keyFile: string } {
  return { certFile: `${l.pki}/kubelet-${c.nodeName}.crt`, keyFile: `${l.pki}/kubelet-${c.nodeName}.key` };
}

const pilot = (component: string, ...flags: string[]) => [process.execPath, PILOT_BIN, component, ...flags];

export function componentPlan(c: ClusterConfig, l: StateLayout): Component[] {
  const kubeconfig = (component: KubeconfigFor) => kubeconfigOf(l, component);
  const pki = l.pki;
  const out: Component[] = [
    {
      name: 'etcd',
      argv: () =>
        etcdArgv({
          name: 'pilot',
          dataDir: l.etcdData,
          clientUrls: [etcdEndpoint(c)],
          advertiseClientUrl: etcdEndpoint(c),
          peerUrl: `http://127.0.0.1:${c.etcdPort + 1}`,
        }),
      files: [],
      health: [{ kind: 'http', url: `${etcdEndpoint(c)}/health`, body: '"health":"true"' }],
      after: [],
      afterReady: 'put-network-config',
    },
    {
      name: 'apiserver',
      argv: () =>
        pilot('apiserver',
          '--etcd-servers', etcdEndpoint(c),
          '--service-cluster-ip-range', c.serviceCidr,
          '--insecure-bind-address', '127.0.0.1', '--insecure-port', String(c.insecurePort),
          '--bind-address', '0.0.0.0', '--secure-port', String(c.securePort),
          '--tls-cert-file', `${pki}/apiserver.crt`, '--tls-private-key-file', `${pki}/apiserver.key`, '--token-auth-file', `${pki}/tokens.csv`,
          '--advertise-address', c.nodeIp,
          '--kubelet-client-certificate', `${pki}/apiserver-kubelet-client.crt`, '--kubelet-client-key', `${pki}/apiserver-kubelet-client.key`,
          '--kubelet-certificate-authority', `${pki}/ca.crt`),
      files: [],
      health: [{ kind: 'http', url: `http://127.0.0.1:${c.insecurePort}/healthz`, body: 'ok' }],
      after: ['etcd'],
    },
    {
      // One node, one scheduler: no leader election (a restarted one would wait out the Lease).
      name: 'scheduler',
      argv: () => pilot('scheduler', '--kubeconfig', kubeconfig('scheduler'), '--leader-elect', 'false'),
      files: [],
      health: [{ kind: 'http', url: 'http://127.0.0.1:10251/healthz' }],
      after: ['apiserver'],
    },
    {
      name: 'controller-manager',
      argv: () => pilot('controller-manager', '--kubeconfig', kubeconfig('controller-manager'), '--leader-elect', 'false'),
      files: [],
      health: [{ kind: 'http', url: 'http://127.0.0.1:10252/healthz' }],
      after: ['apiserver'],
    },
    {
      name: 'overlayd',
      argv: () =>
        pilot('overlayd',
          '--etcd-endpoints', etcdEndpoint(c),
          '--iface', c.iface,
          '--node-name', c.nodeName,
          '--ip-masq',
          '--subnet-file', l.subnetEnv,
          '--docker-opts-file', l.dockerOpts,
          '--healthz-ip', '127.0.0.1'),
      files: [],
      health: [{ kind: 'file', path: l.dockerOpts }, { kind: 'http', url: 'http://127.0.0.1:9199/healthz' }],
      // The network config is put into etcd once etcd is healthy, before anything after it starts.
      after: ['etcd'],
    },
  ];
  if (c.imageStore) {
    out.push({
      name: 'registry',
      argv: () => registryArgv(l.registryConfig),
      files: [{ path: l.registryConfig, content: registryConfig({ rootDirectory: `${c.imageStore}/registry`, address: registryAddress(c), readOnly: true }) }],
      health: [{ kind: 'http', url: `http://${registryAddress(c)}/v2/` }],
      after: [],
    });
  }
  out.push(
    {
      name: 'dockerd',
      argv: () => dockerdArgv(l.docker, { cgroupParent: c.cgroupParent, net: dockerOptsFromFile(l.dockerOpts) }),
      files: [{ path: l.docker.configFile, content: daemonJson(c.imageStore ? { mirror: registryAddress(c) } : {}) }],
      health: [{ kind: 'docker', socket: l.docker.socket }],
      // Its bridge comes from overlayd's subnet; its Docker Hub mirror is the registry.
      after: c.imageStore ? ['overlayd', 'registry'] : ['overlayd'],
      ...(c.imageStore ? { afterReady: 'load-pause-image' as const } : {}),
    },
    {
      name: 'kubelet',
      argv: () => {
        const cert = kubeletCertFiles(l, c);
        return pilot('kubelet',
          '--kubeconfig', kubeconfig('kubelet'),
          '--hostname-override', c.nodeName,
          '--node-ip', c.nodeIp,
          '--docker-endpoint', `unix://${l.docker.socket}`,
          '--pod-infra-container-image', IMAGE_NAMES.pause,
          '--cluster-dns', c.clusterDns,
          '--cluster-domain', c.clusterDomain,
          '--root-dir', l.kubeletRoot,
          '--subnet-file', l.subnetEnv,
          '--tls-cert-file', cert.certFile,
          '--tls-private-key-file', cert.keyFile,
          '--client-ca-file', `${pki}/kubelet-client-ca.crt`);
      },
      files: [],
      health: [{ kind: 'http', url: 'http://127.0.0.1:10248/healthz' }],
      after: ['apiserver', 'dockerd'],
    },
    {
      name: 'svcproxy',
      argv: () => pilot('svcproxy', '--kubeconfig', kubeconfig('svcproxy'), '--cluster-cidr', c.clusterCidr, '--hostname-override', c.nodeName, '--healthz-bind-address', '127.0.0.1'),
      files: [],
      health: [{ kind: 'http', url: 'http://127.0.0.1:10256/healthz' }],
      after: ['apiserver'],
    },
    {
      // On the node's address (a resolver such as systemd-resolved may hold 127.0.0.53:53), registered as kube-system/kube-dns at the cluster DNS IP.
      name: 'dnsd',
      argv: () =>
        pilot('dnsd',
          '--kubeconfig', kubeconfig('dnsd'),
          '--register-service',
          '--advertise-address', c.nodeIp,
          '--listen', `${c.nodeIp}:53`,
          '--cluster-ip', c.clusterDns,
          '--cluster-cidr', c.clusterCidr,
          '--service-cidr', c.serviceCidr,
          '--domain', c.clusterDomain),
      files: [],
      health: [{ kind: 'http', url: 'http://127.0.0.1:9153/ready' }],
      after: ['apiserver'],
    },
  );
  return out;
}
