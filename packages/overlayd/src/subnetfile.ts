import { readFile } from 'node:fs/promises';
import { Cidr, parseEnvFile, writeFileAtomic } from '@pilot/common';
import { bridgeAddress } from './lease.js';

/**
 * subnet.env (what Docker's --bip/--mtu come from) and the docker options
 * file in mk-docker-opts' format. Rendering is pure; writes are atomic.
 */

export interface SubnetEnv {
  network: Cidr;
  subnet: Cidr;
  mtu: number;
  ipMasq: boolean;
}

export function renderSubnetEnv(env: SubnetEnv): string {
  return [
    `FLANNEL_NETWORK=${env.network.toString()}`,
    `FLANNEL_SUBNET=${bridgeAddress(env.subnet)}`,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
  ].join('\n') + '\n';
}

/** Options for dockerd, as flannel's mk-docker-opts.sh writes them. */
export function renderDockerOpts(env: SubnetEnv): string {
  const bip = `--bip=${bridgeAddress(env.subnet)}`;
  const mtu = `--mtu=${env.mtu}`;
  // When overlayd masquerades, Docker must not add its own MASQUERADE rule as well.
  const masq = env.ipMasq ? '--ip-masq=false' : '';
  const all = [bip, masq, mtu].filter(Boolean).join(' ');
  const lines = [`DOCKER_OPT_BIP="${bip}"`];
  if (masq) lines.push(`DOCKER_OPT_IPMASQ="${masq}"`);
  lines.push(`DOCKER_OPT_MTU="${mtu}"`, `DOCKER_OPTS=" ${all}"`);
  return lines.join('\n') + '\n';
}

/**
 * The subnet a previous run wrote to FLANNEL_SUBNET (as a network), or
 * undefined when there is no file or it does not hold one usable value.
 */
export function previousSubnet(text: string): Cidr | undefined {
  const v = parseEnvFile(text).FLANNEL_SUBNET;
  if (!v || v.includes(',')) return undefined;
  try {
    return Cidr.parse(v, { loose: true });
  } catch {
    return undefined;
  }
}

export async function readPreviousSubnet(path: string): Promise<Cidr | undefined> {
  try {
    return previousSubnet(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function writeSubnetFiles(paths: { subnetFile: string; dockerOptsFile?: string | undefined }, env: SubnetEnv): Promise<void> {
  await writeFileAtomic(paths.subnetFile, renderSubnetEnv(env), 0o644);
  if (paths.dockerOptsFile) await writeFileAtomic(paths.dockerOptsFile, renderDockerOpts(env), 0o644);
}
