import { mkdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, networkInterfaces, totalmem } from 'node:os';
import { ApiClient, EventBroadcaster, isNotFound, type ConfigMap, type KubeObject, type Secret } from '@pilot/api';
import { checkKernelPrerequisites, createRegistry, describeMissing, sleep, type Logger } from '@pilot/common';
import { KeyedBackoff } from './back-off.js';
import { newApiserverSource } from './config/apiserver.js';
import { ANNOTATION_CONFIG_MIRROR, newFileSource, type FileSource } from './config/file.js';
import { mergeSources, type PodUpdate } from './config/source.js';
import { runtimeLookup } from './container-lookup.js';
import { parseResolvConf, podDnsConfig } from './dns.js';
import type { KubeletConfig } from './flags.js';
import { Kubelet } from './kubelet.js';
import { NodeStatusManager } from './kubelet-node-status.js';
import { MirrorPodManager } from './mirror-pods.js';
import { RuntimeManager } from './kuberuntime/manager.js';
import { podCidrFromSubnetEnv, type NodeFacts } from './node-status.js';
import { Pleg, type PodLifecycleEvent } from './pleg.js';
import { ProbeManager } from './prober/manager.js';
import { connectDocker, type DockerRuntime } from './runtime/docker.js';
import type { DnsConfig } from './runtime/runtime.js';
import { startKubeletServer, type KubeletServer } from './server.js';
import { StatusManager } from './status-manager.js';
import { readNodeSystemInfo } from './system-info.js';

/**
 * `pilot kubelet` wired up (cmd/kubelet/app/server.go): dockerd (waited
 * for when it is not up yet), the pod sources (the apiserver and, with
 * --pod-manifest-path, the static pod files, whose pods run whether or not
 * the apiserver is there), the mirror pods, the PLEG, the pod workers'
 * syncLoop, the status manager, the node status and lease loops, and the
 * kubelet API server. Components meet only through the API and the runtime.
 */

export interface StartOptions {
  log: Logger;
  signal: AbortSignal;
  client?: ApiClient;
}

export interface RunningKubelet {
  readonly kubelet: Kubelet;
  readonly server: KubeletServer;
  readonly done: Promise<'stopped' | 'lost'>;
  close(): Promise<void>;
}

/** Interfaces whose addresses are never the node's (pod bridges, overlay devices, veths). */
const NOT_NODE_IFACE = /^(lo|docker\d*|cni\d*|cbr\d*|flannel[.\w]*|vxlan[.\w]*|veth\w*|br-\w+)$/;

/** The node's address: the first IPv4 (then IPv6) address of an interface that is neither loopback nor a pod bridge. */
export function detectNodeIp(ifaces = networkInterfaces()): string | undefined {
  const all = Object.entries(ifaces).flatMap(([name, addrs]) => (NOT_NODE_IFACE.test(name) ? [] : (addrs ?? []).filter((a) => !a.internal)));
  return (all.find((a) => a.family === 'IPv4') ?? all.find((a) => a.family === 'IPv6'))?.address;
}

async function waitForDocker(cfg: KubeletConfig, log: Logger, signal: AbortSignal): Promise<DockerRuntime> {
  let said: string | undefined;
  for (;;) {
    try {
      return await connectDocker({ endpoint: cfg.containerRuntimeEndpoint, ...(cfg.podInfraContainerImage ? { podInfraImage: cfg.podInfraContainerImage } : {}), log });
    } catch (err) {
      const msg = (err as Error).message;
      // Too old a Docker is not going to get better by waiting.
      if ((err as Error).name === 'DockerVersionError') throw err;
      if (msg !== said) log.warn({ err: msg }, 'container runtime not reachable yet; waiting for it');
      said = msg;
      await sleep(1_000, signal);
    }
  }
}

/** An object by name, undefined when the API has none. */
async function getOptional<T extends KubeObject>(client: ApiClient, resource: string, namespace: string, name: string): Promise<T | undefined> {
  try {
    return await client.get<T>(resource, name, { namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function startKubelet(cfg: KubeletConfig, o: StartOptions): Promise<RunningKubelet> {
  const log = o.log;
  const stop = new AbortController();
  o.signal.addEventListener('abort', () => stop.abort(), { once: true });
  const signal = stop.signal;
  const client = o.client ?? ApiClient.fromFlags({ master: cfg.master, kubeconfig: cfg.kubeconfig, userAgent: `pilot-kubelet/${cfg.nodeName}` });

  const missing = await checkKernelPrerequisites(['bridge-nf-call-iptables']);
  if (missing.length) log.warn(describeMissing(missing));
  await mkdir(cfg.rootDir, { recursive: true });

  const runtime = await waitForDocker(cfg, log, o.signal);
  const version = await runtime.version();
  log.info({ runtime: `${version.runtimeName}://${version.runtimeVersion}`, api: version.runtimeApiVersion, node: cfg.nodeName }, 'container runtime connected');

  const nodeInfo = await readNodeSystemInfo({ containerRuntimeVersion: `${version.runtimeName}://${version.runtimeVersion}` });
  const nodeIp = cfg.nodeIp ?? detectNodeIp();
  if (!nodeIp) throw new Error('no address to register the node with: give --node-ip');
  let hostDns: DnsConfig = { servers: [], searches: [], options: [] };
  try {
    hostDns = parseResolvConf(await readFile(cfg.resolvConf, 'utf8'));
  } catch (err) {
    log.warn({ path: cfg.resolvConf, err: (err as NodeJS.ErrnoException).code }, 'cannot read --resolv-conf; pods with dnsPolicy Default get no nameserver');
  }
  const clusterDns = { servers: cfg.clusterDns, domain: cfg.clusterDomain };
  if (!cfg.clusterDns.length) log.warn('no --cluster-dns: pods with dnsPolicy ClusterFirst get the host\'s resolv.conf (dnsPolicy Default)');

  const broadcaster = new EventBroadcaster(client, { logger: log });
  const recorder = broadcaster.newRecorder({ component: 'kubelet', host: cfg.nodeName });

  // The sources call into the kubelet, which is made after them; the
  // status and mirror pod managers read the sources, made after them (the
  // closures run only once everything is wired).
  let kubelet: Kubelet | undefined;
  const early: PodUpdate[] = [];
  const onPodUpdate = (u: PodUpdate) => (kubelet ? kubelet.onPodUpdate(u) : early.push(u));
  const statusManager = new StatusManager({
    client,
    log,
    // A static pod's status goes to its mirror pod.
    apiPod: (uid) => {
      const staticPod = fileSource?.get(uid);
      return staticPod ? mirrors.mirrorOf(staticPod) : apiSource.get(uid);
    },
    isStatic: (uid) => fileSource?.get(uid) !== undefined,
  });
  const mirrors = new MirrorPodManager({
    client,
    nodeName: cfg.nodeName,
    log,
    staticPods: () => fileSource?.list() ?? [],
    mirrorPods: () => apiSource.mirrorPods(),
    apiSynced: () => apiSource.hasSynced(),
  });
  const fileSource: FileSource | undefined = cfg.podManifestPath
    ? newFileSource({
        path: cfg.podManifestPath,
        nodeName: cfg.nodeName,
        checkFrequencyMs: cfg.fileCheckFrequencyMs,
        log,
        onUpdate: (u) => {
          onPodUpdate(u);
          mirrors.kick();
        },
      })
    : undefined;
  const apiSource = newApiserverSource(client, cfg.nodeName, log, onPodUpdate, (mirror) => {
    mirrors.kick();
    // A (new) mirror pod: the static pod's status is written there (nothing is written when it already shows it).
    const staticUid = mirror.metadata.annotations?.[ANNOTATION_CONFIG_MIRROR];
    if (staticUid) statusManager.resend(staticUid);
  });
  const source = mergeSources(fileSource ? [fileSource, apiSource] : [apiSource]);
  const backoff = new KeyedBackoff({ initialMs: cfg.containerBackoffMs, maxMs: cfg.containerBackoffMaxMs });
  const imageBackoff = new KeyedBackoff({ initialMs: cfg.containerBackoffMs, maxMs: cfg.containerBackoffMaxMs });
  const runtimeManager = new RuntimeManager({
    runtime,
    recorder,
    log,
    backoff,
    imageBackoff,
    rootDir: cfg.rootDir,
    env: { nodeName: cfg.nodeName, hostIp: nodeIp, podIps: [], configMap: (ns, name) => getOptional<ConfigMap>(client, 'configmaps', ns, name), secret: (ns, name) => getOptional<Secret>(client, 'secrets', ns, name) },
    dnsFor: (pod) => (pod.spec?.hostNetwork && pod.spec.dnsPolicy !== 'ClusterFirstWithHostNet' && pod.spec.dnsPolicy !== 'None' ? undefined : podDnsConfig(pod, clusterDns, hostDns)),
  });
  const plegEvents: PodLifecycleEvent[] = [];
  const pleg = new Pleg({ runtime, log, onEvent: (e) => (kubelet ? kubelet.onPlegEvent(e) : plegEvents.push(e)) });
  const prober = new ProbeManager({ runtime, recorder, log, podStatus: (uid) => statusManager.getPodStatus(uid), onChange: (uid) => kubelet?.onProbeResult(uid) });
  kubelet = new Kubelet({
    nodeName: cfg.nodeName,
    hostIp: () => nodeIp,
    runtime,
    runtimeManager,
    statusManager,
    source,
    pleg,
    prober,
    recorder,
    log,
    resyncIntervalMs: cfg.syncFrequencyMs,
    backOffPeriodMs: Math.min(cfg.containerBackoffMs, 10_000),
  });
  for (const u of early.splice(0)) kubelet.onPodUpdate(u);
  for (const e of plegEvents.splice(0)) kubelet.onPlegEvent(e);

  const registry = createRegistry('kubelet');
  const k = kubelet;
  const lookup = runtimeLookup(runtime);
  const server = await startKubeletServer(cfg.server, {
    host: { getPods: () => k.getPods(), podSandboxId: (...a) => lookup.podSandboxId(...a), containerId: (...a) => lookup.containerId(...a) },
    runtime,
    log,
    registry,
    healthz: () => {
      const h = pleg.healthy();
      return h.ok ? { ok: true } : { ok: false, message: h.message };
    },
  });

  const readPodCidr = (): string | undefined => {
    if (cfg.podCidr) return cfg.podCidr;
    try {
      return podCidrFromSubnetEnv(readFileSync(cfg.subnetFile, 'utf8'));
    } catch {
      return undefined;
    }
  };
  const facts = (): NodeFacts => {
    const podCidr = readPodCidr();
    return {
      name: cfg.nodeName,
      nodeIp,
      hostname: cfg.nodeName,
      cpus: cpus().length,
      memoryBytes: totalmem(),
      maxPods: cfg.maxPods,
      kubeletPort: server.port,
      ...(podCidr ? { podCidr } : {}),
      nodeInfo,
      labels: cfg.nodeLabels,
    };
  };
  const nodeStatus = new NodeStatusManager({
    client,
    log,
    facts,
    ready: () => {
      const h = pleg.healthy();
      if (!pleg.runtimeUp()) return { ready: false, message: 'container runtime is down' };
      if (!h.ok) return { ready: false, message: h.message };
      return { ready: true, message: 'kubelet is posting ready status' };
    },
    updateFrequencyMs: cfg.nodeStatusUpdateFrequencyMs,
    reportFrequencyMs: cfg.nodeStatusReportFrequencyMs,
    leaseRenewMs: Math.max(1_000, Math.round(cfg.nodeLeaseDurationSeconds * 1000 * 0.25)),
    ...(cfg.registerWithTaints.length ? { taints: cfg.registerWithTaints } : {}),
  });

  const loops = Promise.all([
    source.run(signal),
    mirrors.run(signal),
    pleg.run(signal),
    k.syncLoop(signal),
    statusManager.run(signal),
    nodeStatus.run(signal),
  ]).catch((err: unknown) => log.error({ err: (err as Error).message }, 'kubelet loop failed'));
  log.info({ node: cfg.nodeName, nodeIp, kubeletPort: server.port, healthzPort: server.healthzPort }, 'kubelet running');

  const done = new Promise<'stopped'>((resolve) => {
    if (o.signal.aborted) resolve('stopped');
    o.signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  return {
    kubelet: k,
    server,
    done,
    close: async () => {
      // Containers keep running: a kubelet stop is not a pod stop (the next kubelet adopts them).
      stop.abort();
      prober.stop();
      await loops;
      await statusManager.drain();
      await server.close();
      await broadcaster.shutdown();
      client.close();
    },
  };
}
