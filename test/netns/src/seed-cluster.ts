import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Node } from '@pilot/api';
import { parseEnvFile, waitFor } from '@pilot/common';
import { kubeletServingCert, type Daemon } from '@pilot/orchestrator-core/up';
import type { Cluster, Host } from './cluster.js';
import { PILOT_BIN, startControlPlane, type ControlPlane } from './controlplane.js';
import type { Dockerd } from './dockerd.js';

/**
 * The seed's cluster on network-namespace hosts, every part a real process,
 * started in the order an operator installs it: etcd (the run's) with the
 * network config; `pilot apiserver` (TLS + token), `pilot scheduler` and
 * `pilot controller-manager` in the master namespace; on every host overlayd
 * first, then dockerd from the options it wrote (the run's registry as its
 * Docker Hub mirror), svcproxy (iptables mode) and `pilot kubelet`; dnsd on
 * one host, registered as kube-system/kube-dns at 10.0.0.10. Shared by the
 * seed e2e and `make demo`, so the demo shows what the test checks.
 * Resolves once every node is Ready and the cluster DNS is registered.
 */

const NODE = process.execPath;
const SVCPROXY = fileURLToPath(new URL('../../../packages/svcproxy/dist/bin/svcproxy.js', import.meta.url));
const DNSD = fileURLToPath(new URL('../../../packages/dnsd/dist/bin/dnsd.js', import.meta.url));

export const SEED_CLUSTER_CIDR = '10.1.0.0/16';
export const SEED_DNS_IP = '10.0.0.10';
export const SEED_ZONE = 'cluster.local';

export interface SeedClusterOptions {
  /** overlayd's backend (default vxlan, as the seed talks run flannel). */
  backend?: 'vxlan' | 'host-gw';
  /** Index of the host that runs dnsd (default the last). */
  dnsHost?: number;
  /** Extra `pilot kubelet` flags (shortened timers). */
  kubeletFlags?: readonly string[];
  /** Extra `pilot controller-manager` flags. */
  controllerManagerFlags?: readonly string[];
  /** Extra `pilot apiserver` flags (shortened default tolerations). */
  apiserverFlags?: readonly string[];
}

export interface SeedCluster {
  readonly cluster: Cluster;
  readonly cp: ControlPlane;
  readonly hosts: readonly Host[];
  /** Each host's subnet.env, as overlayd wrote it. */
  readonly subnetEnv: readonly Record<string, string>[];
  readonly dockerds: readonly Dockerd[];
  /** Every daemon started, by name: `scheduler`, `controller-manager`, `overlayd-<host>`, `svcproxy-<host>`, `kubelet-<host>`, `dnsd`. */
  readonly daemons: ReadonlyMap<string, Daemon>;
  /**
   * The /metrics text of every instance of a Prometheus job as
   * deploy/prometheus/prometheus.yml names them (`overlayd`, `kube-proxy`,
   * `coredns`, `apiserver`, `kube-scheduler`, `kube-controller-manager`),
   * each fetched where that daemon serves it.
   */
  scrape(job: string): Promise<string[]>;
  /** Stops the kubelets (so no pod restarts while the rest goes down) and the apiserver; `cluster.teardown()` removes the rest. */
  stop(): Promise<void>;
}

/** Fails with the daemon's last log lines when it has exited. */
function alive(d: Daemon): void {
  if (!d.running) throw new Error(`${d.spec.name} exited ${JSON.stringify(d.exit)}: ${d.log().trimEnd().split('\n').slice(-3).join(' | ')}`);
}

export async function startSeedCluster(c: Cluster, opts: SeedClusterOptions = {}): Promise<SeedCluster> {
  if (!c.etcd) throw new Error(`cluster ${c.prefix} has no etcd (Cluster.create({ etcd: true }))`);
  const hosts = c.hosts;
  const dnsHost = hosts[opts.dnsHost ?? hosts.length - 1]!;
  const daemons = new Map<string, Daemon>();
  const spawn = (h: Host, name: string, argv: string[]): Daemon => {
    const d = h.spawn(name, argv);
    daemons.set(name, d);
    return d;
  };
  const config = { Network: SEED_CLUSTER_CIDR, SubnetLen: 24, Backend: { Type: opts.backend ?? 'vxlan' } };
  const put = await c.etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(config)]);
  if (put.exitCode !== 0) throw new Error(`etcdctl put /coreos.com/network/config: ${put.stderr.trim()}`);
  const cp = await startControlPlane(c, opts.apiserverFlags ? { flags: opts.apiserverFlags } : {});

  // overlayd before Docker on every host.
  const subnetFile = (h: Host) => `${h.stateDir}/subnet.env`;
  const dockerOptsFile = (h: Host) => `${h.stateDir}/docker-opts.env`;
  for (const h of hosts) {
    spawn(h, `overlayd-${h.name}`, [
      NODE, PILOT_BIN, 'overlayd',
      '--etcd-endpoints', c.etcd.endpoint,
      '--iface', 'eth0',
      '--node-name', h.name,
      '--ip-masq',
      '--subnet-file', subnetFile(h),
      '--docker-opts-file', dockerOptsFile(h),
    ]);
  }
  const subnetEnv = await Promise.all(
    hosts.map((h) =>
      waitFor(
        () => {
          alive(daemons.get(`overlayd-${h.name}`)!);
          return existsSync(dockerOptsFile(h)) ? parseEnvFile(readFileSync(subnetFile(h), 'utf8')) : undefined;
        },
        { timeoutMs: 30_000, what: `subnet.env and the docker options from overlayd on ${h.name}` },
      ),
    ),
  );
  const registry = await c.startRegistry();
  const dockerds: Dockerd[] = [];
  for (const h of hosts) dockerds.push(await h.startDockerd({ dockerOptsFile: dockerOptsFile(h), registry }));

  const schedulerPort = await c.master.freePort();
  let controllerManagerPort: number;
  do controllerManagerPort = await c.master.freePort();
  while (controllerManagerPort === schedulerPort);
  spawn(c.master, 'scheduler', [NODE, PILOT_BIN, 'scheduler', '--kubeconfig', cp.kubeconfigFor(undefined, 'scheduler'), '--healthz-port', String(schedulerPort)]);
  spawn(c.master, 'controller-manager', [
    NODE, PILOT_BIN, 'controller-manager', '--kubeconfig', cp.kubeconfigFor(undefined, 'controller-manager'), '--healthz-port', String(controllerManagerPort), ...(opts.controllerManagerFlags ?? []),
  ]);
  for (const h of hosts) {
    spawn(h, `svcproxy-${h.name}`, [
      NODE, SVCPROXY,
      '--kubeconfig', cp.kubeconfigFor(h, 'svcproxy'),
      '--cluster-cidr', SEED_CLUSTER_CIDR,
      '--hostname-override', h.name,
      '--min-sync-period', '200ms',
      '--healthz-bind-address', h.ip,
      '--healthz-port', String(await h.freePort()),
    ]);
  }
  // Nothing answers upstream: the cluster's names are all the walkthrough asks.
  const dnsdPort = await dnsHost.freePort();
  spawn(dnsHost, 'dnsd', [
    NODE, DNSD,
    '--kubeconfig', cp.kubeconfigFor(dnsHost, 'dnsd'),
    '--register-service',
    '--advertise-address', dnsHost.ip,
    '--listen', '0.0.0.0:53',
    '--cluster-ip', SEED_DNS_IP,
    '--cluster-cidr', SEED_CLUSTER_CIDR,
    '--upstream', '127.0.0.53:5353',
    '--healthz-port', String(dnsdPort),
  ]);
  for (const [i, h] of hosts.entries()) {
    const cert = await kubeletServingCert(cp.pki, h.name, h.ip);
    spawn(h, `kubelet-${h.name}`, [
      NODE, PILOT_BIN, 'kubelet',
      '--kubeconfig', cp.kubeconfigFor(h, 'kubelet'),
      '--hostname-override', h.name,
      '--node-ip', h.ip,
      '--docker-endpoint', dockerds[i]!.endpoint,
      '--cluster-dns', SEED_DNS_IP,
      '--cluster-domain', SEED_ZONE,
      '--root-dir', `${h.stateDir}/kubelet`,
      '--subnet-file', subnetFile(h),
      '--port', String(await h.freePort()),
      '--tls-cert-file', cert.certFile,
      '--tls-private-key-file', cert.keyFile,
      '--client-ca-file', cp.pki.kubeletClientCaFile,
      '--healthz-port', '0',
      ...(opts.kubeletFlags ?? []),
    ]);
  }

  await waitFor(
    async () => {
      for (const d of daemons.values()) alive(d);
      const nodes = await cp.client.list<Node>('nodes');
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
      if (ready.length !== hosts.length) return false;
      const dns = await cp.client.get<Endpoints>('endpoints', 'kube-dns', { namespace: 'kube-system' }).catch(() => undefined);
      return !!dns?.subsets?.some((s) => s.addresses?.some((a) => a.ip === dnsHost.ip));
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `${hosts.length} nodes Ready and kube-system/kube-dns registered` },
  );

  const get = async (h: Host, url: string) => (await h.execOk(['curl', '-sf', '--max-time', '10', url])).stdout;
  const targets: Record<string, () => Promise<string>[]> = {
    overlayd: () => hosts.map((h) => get(h, `http://${h.ip}:9199/metrics`)),
    'kube-proxy': () => hosts.map((h) => get(h, 'http://127.0.0.1:10249/metrics')),
    coredns: () => [get(dnsHost, `http://${dnsHost.ip}:${dnsdPort}/metrics`)],
    apiserver: () => [get(c.master, `http://127.0.0.1:${cp.insecurePort}/metrics`)],
    'kube-scheduler': () => [get(c.master, `http://127.0.0.1:${schedulerPort}/metrics`)],
    'kube-controller-manager': () => [get(c.master, `http://127.0.0.1:${controllerManagerPort}/metrics`)],
  };
  return {
    cluster: c,
    cp,
    hosts,
    subnetEnv,
    dockerds,
    daemons,
    scrape: async (job) => {
      const t = targets[job];
      if (!t) throw new Error(`no Prometheus job ${job} in the seed cluster (known: ${Object.keys(targets).join(', ')})`);
      return Promise.all(t());
    },
    stop: async () => {
      for (const [name, d] of daemons) if (name.startsWith('kubelet-')) await d.stop().catch(() => undefined);
      await cp.close().catch(() => undefined);
    },
  };
}
