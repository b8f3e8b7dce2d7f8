import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@pilot/api';
import { createLogger, waitFor } from '@pilot/common';
import type { ApiServer, RawFlags, StartOptions } from '@pilot/orchestrator-core';
import { createPki, identityKey, writeKubeconfig, type Daemon, type EtcdClientTls, type Identity, type Pki, type TestUser } from '@pilot/orchestrator-core/up';
import type { Cluster, Host } from './cluster.js';
import type { EtcdServer } from './etcd.js';

/** The apiserver's flags for the run's etcd: its endpoint, and with a TLS etcd the CA and `client` (default: the harness's client certificate). */
function etcdFlags(etcd: EtcdServer, client?: EtcdClientTls): string[] {
  const tls = etcd.tls ? (client ?? etcd.tls.client) : undefined;
  return ['--etcd-servers', etcd.endpoint, ...(tls ? ['--etcd-cafile', tls.caFile, '--etcd-certfile', tls.certFile, '--etcd-keyfile', tls.keyFile] : [])];
}

/**
 * The control plane as e2e suites need it, in one place:
 *
 * - `startControlPlane(cluster)`: the real `pilot apiserver` binary in the
 *   master namespace over the run's etcd, TLS + bearer token on the master's
 *   underlay address (as deployed), with kubeconfigs for daemons on hosts;
 * - `startInProcess(cluster)`: an apiserver inside the test process, plain
 *   HTTP on 127.0.0.1, for suites that only need objects in and watches out.
 */

/** The compiled `pilot` dispatcher (build first: `npx tsc -b packages/orchestrator-core`). */
export const PILOT_BIN = fileURLToPath(new URL('../../../packages/orchestrator-core/dist/bin/pilot.js', import.meta.url));

/**
 * A port nothing in the root namespace listens on (the kernel picks it); with
 * `udp`, one that is free for UDP on 127.0.0.1 as well.
 */
export async function freeLocalPort(opts: { udp?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (!opts.udp) return port;
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no port free for TCP and UDP on 127.0.0.1 after 100 tries');
}

export interface InProcess {
  server: ApiServer;
  url: string;
  client: ApiClient;
  /** Closes the client, then the server. */
  close(): Promise<void>;
}

/**
 * An apiserver inside the test process, plain HTTP on 127.0.0.1, over the
 * harness's real etcd. `flags` are the apiserver's raw flags (e.g. an own
 * `etcdPrefix`, so suites sharing one etcd never see each other's objects);
 * `start` are start options that are no flags (a short bookmark interval).
 * The orchestrator is loaded only here, so suites that never call this do
 * not pay for it.
 */
export async function startInProcess(c: Cluster, flags: RawFlags = {}, start: Omit<StartOptions, 'log'> = {}): Promise<InProcess> {
  if (!c.etcd) throw new Error(`cluster ${c.prefix} has no etcd (Cluster.create({ etcd: true }))`);
  const { resolveConfig, startApiserver } = await import('@pilot/orchestrator-core');
  const tls = c.etcd.tls?.client;
  const cfg = resolveConfig({
    etcdServers: c.etcd.endpoint,
    ...(tls ? { etcdCafile: tls.caFile, etcdCertfile: tls.certFile, etcdKeyfile: tls.keyFile } : {}),
    insecurePort: String(await freeLocalPort()),
    etcdCompactionInterval: '0',
    ...flags,
  });
  const server = await startApiserver(cfg, { ...start, log: createLogger('apiserver', { level: 'warn' }) });
  const url = server.insecureUrl!;
  const client = new ApiClient({ server: url });
  return {
    server,
    url,
    client,
    close: async () => {
      client.close();
      await server.close();
    },
  };
}

export interface ControlPlaneOptions {
  /** etcd key prefix of the API objects (default /registry). */
  etcdPrefix?: string;
  /** Extra `pilot apiserver` flags. */
  flags?: readonly string[];
  /** Users (with groups) the token file also holds, for tests of what they may do: `kubeconfigFor(undefined, { user })`. */
  users?: readonly TestUser[];
  /** A PKI made beforehand (e.g. by `pilot certs`, read with loadPki) instead of a new one. */
  pki?: Pki;
  /** The TLS port (default: a free one); kubeconfigs made beforehand name it. */
  securePort?: number;
  /** With a TLS etcd: the client certificate the apiserver shows it (default: the harness's). */
  etcdClient?: EtcdClientTls;
}

/** Whose credential a kubeconfig carries; `kubelet` is the host's node identity (system:node:<host name>). */
export type KubeconfigIdentity = Identity | 'kubelet';

export interface ControlPlane {
  /** https://<master underlay ip>:<secure port> */
  readonly url: string;
  readonly securePort: number;
  /** The plain-HTTP port, on the master's loopback only (reach it from `c.master`). */
  readonly insecurePort: number;
  readonly pki: Pki;
  /** The `pilot apiserver` process in the master namespace. */
  readonly daemon: Daemon;
  /** A client for the test process (root namespace) over TLS with the admin token. */
  readonly client: ApiClient;
  /**
   * Writes (once) and returns a kubeconfig (CA + token) in the host's state
   * dir (no host: the run's) for `as`, by default the admin (system:masters).
   * Components use their own: `kubeconfigFor(h, 'kubelet')`, `'svcproxy'`,
   * `'dnsd'`, `kubeconfigFor(undefined, 'scheduler')`.
   */
  kubeconfigFor(host?: Host, as?: KubeconfigIdentity): string;
  /** Polls until the apiserver serves its bootstrap objects over TLS. */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Stop + start with the same flags, then waits until it serves again. */
  restart(): Promise<void>;
  /** Closes the client and stops the apiserver (cluster teardown would stop it too). */
  close(): Promise<void>;
}

/**
 * Creates the PKI, spawns `pilot apiserver` in the master namespace with TLS
 * on the master's underlay address (the insecure port stays on the master's
 * loopback) and waits until it answers over TLS with the token.
 */
export async function startControlPlane(c: Cluster, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  if (!c.etcd) throw new Error(`cluster ${c.prefix} has no etcd (Cluster.create({ etcd: true }))`);
  const master = c.master;
  const pki = opts.pki ?? (await createPki(`${c.stateDir}/pki`, { ips: [master.ip], days: 2, nodes: c.hosts.map((h) => h.name), ...(opts.users ? { users: opts.users } : {}) }));
  const securePort = opts.securePort ?? (await master.freePort());
  let insecurePort: number;
  do insecurePort = await master.freePort();
  while (insecurePort === securePort);
  const url = `https://${master.ip}:${securePort}`;
  const daemon = master.spawn('apiserver', [
    process.execPath, PILOT_BIN, 'apiserver',
    ...etcdFlags(c.etcd, opts.etcdClient),
    ...(opts.etcdPrefix ? ['--etcd-prefix', opts.etcdPrefix] : []),
    '--insecure-bind-address', '127.0.0.1', '--insecure-port', String(insecurePort),
    '--bind-address', master.ip, '--secure-port', String(securePort),
    '--tls-cert-file', pki.certFile, '--tls-private-key-file', pki.keyFile, '--token-auth-file', pki.tokenFile,
    '--advertise-address', master.ip,
    '--kubelet-client-certificate', pki.kubeletClientCertFile, '--kubelet-client-key', pki.kubeletClientKeyFile, '--kubelet-certificate-authority', pki.caFile,
    ...(opts.flags ?? []),
  ]);
  const written = new Map<string, string>();
  const kubeconfigFor = (host?: Host, as: KubeconfigIdentity = 'admin'): string => {
    let who: Identity;
    if (as === 'kubelet') {
      if (!host) throw new Error('kubeconfigFor(undefined, "kubelet"): a kubelet credential is a host\'s');
      who = { node: host.name };
    } else who = as;
    const key = identityKey(who);
    const token = pki.tokens.get(key);
    if (!token) throw new Error(`no token for ${key}: nodes are the cluster's hosts, test users come from startControlPlane's users option`);
    const file = key === 'admin' ? (host ? 'kubeconfig' : 'admin.kubeconfig') : `${key.replace(/[^a-z0-9.-]/gi, '-')}.kubeconfig`;
    const path = `${host ? host.stateDir : c.stateDir}/${file}`;
    if (!written.has(path)) written.set(path, writeKubeconfig(path, { server: url, pki, token }));
    return path;
  };
  const client = ApiClient.fromKubeconfig(kubeconfigFor(), undefined, { userAgent: 'netns-e2e', timeoutMs: 10_000 });
  const waitReady = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(
      async () => {
        if (!daemon.running) throw new Error(`pilot apiserver exited ${JSON.stringify(daemon.exit)}: ${daemon.log().trimEnd().split('\n').slice(-3).join(' | ')}`);
        // The bootstrap service exists once the server has written its own objects.
        return client.get('services', 'kubernetes', { namespace: 'default' }).then(
          () => true,
          () => false,
        );
      },
      { timeoutMs, intervalMs: 200, what: `pilot apiserver at ${url} to serve over TLS` },
    );
  };
  const cp: ControlPlane = {
    url,
    securePort,
    insecurePort,
    pki,
    daemon,
    client,
    kubeconfigFor,
    waitReady,
    stop: async () => {
      await daemon.stop();
    },
    restart: async () => {
      await daemon.restart();
      await waitReady();
    },
    close: async () => {
      client.close();
      await daemon.stop();
    },
  };
  await waitReady();
  return cp;
}

/**
 * `pilot scheduler` or `pilot controller-manager` in the master namespace,
 * with the admin kubeconfig of `cp` and a health port of its own, then
 * `flags` (which controllers, leader election, periods). `name` tells two
 * instances apart in the cluster's logs (default: the component).
 */
export async function spawnComponent(
  c: Cluster,
  cp: ControlPlane,
  component: 'scheduler' | 'controller-manager',
  flags: readonly string[] = [],
  name: string = component,
): Promise<Daemon> {
  return c.master.spawn(name, [
    process.execPath, PILOT_BIN, component,
    // `flags` may name the component's own kubeconfig (e.g. one pilot certs wrote) instead of the admin's.
    ...(flags.includes('--kubeconfig') ? [] : ['--kubeconfig', cp.kubeconfigFor()]),
    '--healthz-port', String(await c.master.freePort()),
    ...flags,
  ]);
}
