import { readFile } from 'node:fs/promises';

/**
 * Kernel settings the daemons depend on. /proc/sys/net is per network
 * namespace and reflects the reader's namespace, so a daemon started with
 * `nsenter --net` checks its own host.
 */
export type Prerequisite = 'ip_forward' | 'bridge-nf-call-iptables';

const SYSCTLS: Record<Prerequisite, { key: string; path: string; hint: string }> = {
  ip_forward: {
    key: 'net.ipv4.ip_forward',
    path: '/proc/sys/net/ipv4/ip_forward',
    hint: 'sysctl -w net.ipv4.ip_forward=1',
  },
  'bridge-nf-call-iptables': {
    key: 'net.bridge.bridge-nf-call-iptables',
    path: '/proc/sys/net/bridge/bridge-nf-call-iptables',
    hint: 'modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1',
  },
};

export interface MissingPrerequisite {
  name: Prerequisite;
  key: string;
  problem: string;
  hint: string;
}

export type ReadSysctl = (path: string) => Promise<string>;

const readSysctl: ReadSysctl = (path) => readFile(path, 'utf8');

export async function checkKernelPrerequisites(
  wanted: readonly Prerequisite[],
  read: ReadSysctl = readSysctl,
): Promise<MissingPrerequisite[]> {
  const missing: MissingPrerequisite[] = [];
  for (const name of wanted) {
    const s = SYSCTLS[name];
    let value: string;
    try {
      value = (await read(s.path)).trim();
    } catch {
      const problem = name === 'bridge-nf-call-iptables' ? 'br_netfilter is not loaded' : `${s.path} is unreadable`;
      missing.push({ name, key: s.key, problem, hint: s.hint });
      continue;
    }
    if (value !== '1') missing.push({ name, key: s.key, problem: `${s.key}=${value}, want 1`, hint: s.hint });
  }
  return missing;
}

/** One line naming every missing prerequisite and how to fix it. */
export function describeMissing(missing: readonly MissingPrerequisite[]): string {
  return `kernel prerequisites missing: ${missing.map((m) => `${m.problem} (fix: ${m.hint})`).join('; ')}`;
}
