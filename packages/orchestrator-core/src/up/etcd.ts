import { request } from 'node:https';
import { readFileSync } from 'node:fs';

/**
 * An etcd member's command line and health, as `pilot up` runs it (one
 * member on loopback) and the netns harness in its master namespace (one
 * member, or three for the failure story); with `tls`, as a production etcd
 * runs: clients speak TLS and must show a certificate from the trusted CA
 * (`--client-cert-auth`; `pilot certs` writes the files).
 */

/** etcd's serving certificate and the CA its clients' certificates must come from. */
export interface EtcdServerTls {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
}

/** What a client of a TLS etcd holds: the CA of etcd's certificate, its own certificate and key. */
export interface EtcdClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

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
  /** TLS with client certificates on the client URLs (which are then https://). */
  tls?: EtcdServerTls;
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
    ...(m.tls ? ['--client-cert-auth', '--trusted-ca-file', m.tls.trustedCaFile, '--cert-file', m.tls.certFile, '--key-file', m.tls.keyFile] : []),
    '--log-level', 'warn',
    '--logger', 'zap',
  ];
}

/** `GET /health` says `{"health":"true"}`; false on anything else. An https:// endpoint is asked with `tls`'s client certificate. */
export async function etcdHealthy(endpoint: string, timeoutMs = 2_000, tls?: EtcdClientTls): Promise<boolean> {
  if (endpoint.startsWith('https://')) return httpsHealthy(endpoint, timeoutMs, tls);
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

function httpsHealthy(endpoint: string, timeoutMs: number, tls: EtcdClientTls | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/health`, {
      timeout: timeoutMs,
      ...(tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { health?: string }).health === 'true');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
