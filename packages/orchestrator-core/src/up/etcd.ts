/**
 * An etcd member's command line and health, as `pilot up` runs it (one
 * member on loopback) and the netns harness in its master namespace (one
 * member, or three for the failure story).
 */

export interface EtcdMember {
  name: string;
  dataDir: string;
  /** URLs it listens on for clients. */
  clientUrls: readonly string[];
  /** The client URL it advertises (one of clientUrls). */
  advertiseClientUrl: string;
  /** Its one peer URL (a single-member cluster: nobody else dials it). */
  peerUrl: string;
  /**
   * Every member of a new cluster, name → peer URL, this one included
   * (etcd's --initial-cluster); default: this member alone.
   */
  initialCluster?: Readonly<Record<string, string>>;
  /** etcd's --initial-cluster-token, so two runs' clusters never join each other. */
  initialClusterToken?: string;
}

export function etcdArgv(m: EtcdMember): string[] {
  return [
    'etcd',
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientUrls.join(','),
    '--advertise-client-urls', m.advertiseClientUrl,
    '--listen-peer-urls', m.peerUrl,
    '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', Object.entries(m.initialCluster ?? { [m.name]: m.peerUrl }).map(([n, u]) => `${n}=${u}`).join(','),
    '--initial-cluster-state', 'new',
    ...(m.initialClusterToken ? ['--initial-cluster-token', m.initialClusterToken] : []),
    '--log-level', 'warn',
    '--logger', 'zap',
  ];
}

/** `GET /health` says `{"health":"true"}`; false on anything else. */
export async function etcdHealthy(endpoint: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}
