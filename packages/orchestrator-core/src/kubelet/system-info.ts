import { readFile } from 'node:fs/promises';
import { arch, platform, release } from 'node:os';
import type { NodeSystemInfo } from '@pilot/api';
import { KUBERNETES_VERSION } from '../component/version.js';

/**
 * status.nodeInfo (upstream's nodestatus.MachineInfo/VersionInfo, from
 * cadvisor and the runtime): what `kubectl get nodes -o wide` prints as
 * OS-IMAGE, KERNEL-VERSION and CONTAINER-RUNTIME, and what `kubectl
 * describe node` lists under "System Info". Read once at start: none of it
 * changes while the kubelet runs (a reboot is a new boot ID and a new
 * kubelet). Files that cannot be read give '' as upstream's empty fields.
 */

/** os-release's PRETTY_NAME ("Debian GNU/Linux 12 (bookworm)"), unquoted; upstream falls back to "Linux". */
export function osImageFromOsRelease(text: string): string {
  for (const line of text.split('\n')) {
    const m = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[1]!.trim();
    const quoted = /^(["'])(.*)\1$/.exec(v);
    return (quoted ? quoted[2]!.replace(/\\(["'\\$`])/g, '$1') : v) || 'Linux';
  }
  return 'Linux';
}

/** Node's arch() in GOARCH spelling, as kubernetes.io/arch and nodeInfo.architecture use it. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

export interface SystemInfoSources {
  /** `docker://<version>` (the runtime's name and version, as upstream prints it). */
  containerRuntimeVersion: string;
  /** Where the files are (tests point them elsewhere). */
  osReleasePath?: string;
  machineIdPath?: string;
  bootIdPath?: string;
  productUuidPath?: string;
}

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

/** Reads the host's facts for status.nodeInfo. */
export async function readNodeSystemInfo(s: SystemInfoSources): Promise<NodeSystemInfo> {
  // /etc/os-release, else /usr/lib/os-release (os-release(5)).
  const osRelease = (await readTrimmed(s.osReleasePath ?? '/etc/os-release')) || (s.osReleasePath ? '' : await readTrimmed('/usr/lib/os-release'));
  return {
    machineID: await readTrimmed(s.machineIdPath ?? '/etc/machine-id'),
    systemUUID: (await readTrimmed(s.productUuidPath ?? '/sys/class/dmi/id/product_uuid')).toLowerCase(),
    bootID: await readTrimmed(s.bootIdPath ?? '/proc/sys/kernel/random/boot_id'),
    kernelVersion: release(),
    osImage: osImageFromOsRelease(osRelease),
    containerRuntimeVersion: s.containerRuntimeVersion,
    kubeletVersion: KUBERNETES_VERSION.gitVersion,
    kubeProxyVersion: KUBERNETES_VERSION.gitVersion,
    operatingSystem: platform(),
    architecture: goArch(arch()),
  };
}
