import type { ContainerCreateOptions, HostConfig } from 'dockerode';
import { milliValue, parseQuantity, type ResourceRequirements } from '@pilot/api';
import { containerLabels, makeContainerName, makeSandboxName, sandboxLabels } from './naming.js';
import type { ContainerConfig, DnsConfig, LinuxContainerResources, PodSandboxConfig, PortMapping } from './runtime.js';

/**
 * CRI configs → Docker create options, as cri-dockerd builds them
 * (core/sandbox_run.go, core/container_create.go, core/helpers_linux.go).
 * Pure: the Docker edge only sends what these return.
 */

/** `80/tcp` → the host bindings Docker should publish it on (hostPort pods). */
function portBindings(ports: readonly PortMapping[] = []): { exposed: Record<string, object>; bindings: NonNullable<HostConfig['PortBindings']> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
    exposed[key] = {};
    if (!p.hostPort) continue;
    (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
  }
  return { exposed, bindings };
}

/** Pause containers get the kubelet's infra OOM score (qos.PodInfraOOMAdj). */
export const POD_INFRA_OOM_ADJ = -998;

/**
 * `oomScoreAdj`: POD_INFRA_OOM_ADJ where the kernel lets this host lower
 * OOM scores, null where it does not (runc would fail the start).
 */
export function sandboxCreateOptions(
  config: PodSandboxConfig,
  image: string,
  oomScoreAdj: number | null = POD_INFRA_OOM_ADJ,
  name = makeSandboxName(config.metadata),
): ContainerCreateOptions {
  const { exposed, bindings } = portBindings(config.portMappings);
  const dns = config.dnsConfig;
  const hostConfig: HostConfig = {
    // "default" is Docker's bridge, whose subnet is --bip (FLANNEL_SUBNET); cri-dockerd uses it without CNI.
    NetworkMode: config.hostNetwork ? 'host' : 'default',
    // App containers join it with IpcMode container:<id>.
    IpcMode: 'shareable',
    ...(oomScoreAdj !== null ? { OomScoreAdj: oomScoreAdj } : {}),
    ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
    ...(config.cgroupParent ? { CgroupParent: config.cgroupParent } : {}),
    // Docker writes resolv.conf from these; runPodSandbox then rewrites it exactly (rewriteResolvFile).
    ...(dns && !config.hostNetwork ? { Dns: dns.servers, DnsSearch: dns.searches, DnsOptions: dns.options } : {}),
  };
  return {
    name,
    Image: image,
    Labels: sandboxLabels(config.metadata, config.labels, config.annotations),
    // With the host's network the host's name stays (Docker refuses a hostname there).
    ...(config.hostname && !config.hostNetwork ? { Hostname: config.hostname } : {}),
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    HostConfig: hostConfig,
  };
}

export function containerCreateOptions(
  sandboxId: string,
  config: ContainerConfig,
  sandbox: PodSandboxConfig,
  name = makeContainerName(sandbox.metadata, config.metadata),
): ContainerCreateOptions {
  const r = config.resources ?? {};
  const join = `container:${sandboxId}`;
  const hostConfig: HostConfig = {
    NetworkMode: join,
    IpcMode: join,
    ...(sandbox.sharePid ? { PidMode: join } : {}),
    Binds: (config.mounts ?? []).map((m) => `${m.hostPath}:${m.containerPath}${m.readonly ? ':ro' : ''}`),
    ...(r.memoryLimitInBytes ? { Memory: r.memoryLimitInBytes } : {}),
    ...(r.cpuShares ? { CpuShares: r.cpuShares } : {}),
    ...(r.cpuQuota ? { CpuQuota: r.cpuQuota } : {}),
    ...(r.cpuPeriod ? { CpuPeriod: r.cpuPeriod } : {}),
    ...(r.oomScoreAdj !== undefined ? { OomScoreAdj: r.oomScoreAdj } : {}),
    ...(config.privileged ? { Privileged: true } : {}),
    ...(sandbox.cgroupParent ? { CgroupParent: sandbox.cgroupParent } : {}),
  };
  return {
    name,
    Image: config.image,
    // Kubernetes command/args replace the image's ENTRYPOINT/CMD; absent ones keep the image's.
    ...(config.command?.length ? { Entrypoint: config.command } : {}),
    ...(config.args?.length ? { Cmd: config.args } : {}),
    Env: (config.envs ?? []).map((e) => `${e.key}=${e.value}`),
    ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
    ...(config.runAsUser !== undefined ? { User: String(config.runAsUser) } : {}),
    Labels: containerLabels(sandboxId, sandbox.metadata, config.metadata, config.labels, config.annotations, config.logPath),
    Tty: config.tty ?? false,
    OpenStdin: config.stdin ?? false,
    StdinOnce: config.stdinOnce ?? false,
    AttachStdin: config.stdin ?? false,
    HostConfig: hostConfig,
  };
}

/**
 * resolv.conf as cri-dockerd's rewriteResolvFile writes it: one nameserver
 * line per server, then `search` and `options` lines.
 */
export function renderResolvConf(dns: DnsConfig): string {
  const lines = dns.servers.map((s) => `nameserver ${s}`);
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

// Upstream constants (pkg/kubelet/cm/helpers_linux.go).
const MIN_SHARES = 2;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA_PERIOD = 1_000;

export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu === 0) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milliCpu * SHARES_PER_CPU) / 1000));
}

export function milliCpuToQuota(milliCpu: number, period = QUOTA_PERIOD): number {
  if (milliCpu === 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD, Math.floor((milliCpu * period) / 1000));
}

/**
 * A container's requests/limits → CRI LinuxContainerResources, as the
 * kubelet computes them (kuberuntime calculateLinuxResources): shares from
 * the CPU request (or the limit when only a limit is set), quota over a
 * 100 ms period from the CPU limit, memory limit in bytes.
 */
export function linuxResources(res: ResourceRequirements | undefined): LinuxContainerResources {
  const cpuRequest = res?.requests?.cpu ?? res?.limits?.cpu;
  const cpuLimit = res?.limits?.cpu;
  const memLimit = res?.limits?.memory;
  const out: LinuxContainerResources = { cpuShares: milliCpuToShares(cpuRequest === undefined ? 0 : milliValue(cpuRequest)) };
  if (cpuLimit !== undefined) {
    out.cpuQuota = milliCpuToQuota(milliValue(cpuLimit));
    out.cpuPeriod = QUOTA_PERIOD;
  }
  if (memLimit !== undefined) out.memoryLimitInBytes = Math.round(parseQuantity(memLimit));
  return out;
}
