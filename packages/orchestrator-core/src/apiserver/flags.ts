import { Cidr, CidrError, Command, durationFlag, etcdTlsFlags, FlagError, intFlag, isIP, isLoopback, Option, portFlag, readableFileFlag, type EtcdTls, type FlagWarn } from '@pilot/common';
import { parsePortRange, type PortRange } from './allocator.js';
import { DEFAULT_AUTHORIZATION_MODE, parseAuthorizationModes, type AuthorizationMode } from './authorization/union.js';

/** Everything `pilot apiserver` is configured with, validated. */
export interface ApiserverConfig {
  etcdServers: string[];
  /** TLS to etcd (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdTls?: EtcdTls;
  etcdPrefix: string;
  serviceClusterIPRange: Cidr;
  serviceNodePortRange: PortRange;
  insecureBindAddress: string;
  /** 0 disables the insecure port. */
  insecurePort: number;
  bindAddress: string;
  /** 0 disables secure serving. */
  securePort: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tokenAuthFile?: string;
  /** Authorizers of the secure port, in order (the insecure loopback port authorizes nothing). */
  authorizationModes: AuthorizationMode[];
  /** The address published in the default/kubernetes Endpoints. */
  advertiseAddress?: string;
  /** 0 disables compaction. */
  etcdCompactionIntervalMs: number;
  watchCacheSize: number;
  /** How long Events live in etcd (an etcd lease); 0 = forever. */
  eventTtlMs: number;
  /** A connection must deliver a request's headers (and, on the TLS port, finish its handshake) this soon, or it is closed. */
  requestHeaderTimeoutMs: number;
  /** The client certificate and key the apiserver shows kubelets (kubelets accept no one else). */
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  /** CA that signed the kubelets' serving certificates (without it, only the system's CAs are trusted). */
  kubeletCertificateAuthority?: string;
  /** DefaultTolerationSeconds admission: the tolerationSeconds of the not-ready / unreachable NoExecute tolerations every new pod gets. */
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

export interface RawFlags {
  etcdServers?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  etcdPrefix?: string;
  serviceClusterIpRange?: string;
  serviceNodePortRange?: string;
  insecureBindAddress?: string;
  insecurePort?: string;
  bindAddress?: string;
  securePort?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tokenAuthFile?: string;
  authorizationMode?: string;
  advertiseAddress?: string;
  etcdCompactionInterval?: string;
  watchCacheSize?: string;
  eventTtl?: string;
  requestHeaderTimeout?: string;
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  kubeletCertificateAuthority?: string;
  defaultNotReadyTolerationSeconds?: string;
  defaultUnreachableTolerationSeconds?: string;
}

/** A loopback bind address (the insecure port's only kind): an address in 127/8, ::1, or localhost. */
export function isLoopbackBind(addr: string): boolean {
  return isLoopback(addr) || addr === 'localhost';
}

/** kube-apiserver's ReadHeaderTimeout (32 s): a client cannot hold a socket longer without sending a request. */
export const DEFAULT_REQUEST_HEADER_TIMEOUT = '32s';

/** Longest --event-ttl: a year (etcd caps lease TTLs far above; beyond this it is a typo). */
const MAX_EVENT_TTL_MS = 365 * 24 * 3_600_000;

/** `--event-ttl`: 0 keeps events forever; otherwise at least 1s (etcd's lease TTLs are whole seconds). */
export function eventTtlFlag(text: string, warn?: FlagWarn): number {
  const ms = durationFlag('event-ttl', text, 0, MAX_EVENT_TTL_MS, { warn });
  if (ms > 0 && ms < 1000) throw new FlagError('event-ttl', `${text} is shorter than 1s (0 keeps events forever)`);
  return ms;
}

/** Longest default toleration: a year of seconds (beyond that it is a typo). */
const MAX_TOLERATION_SECONDS = 365 * 86_400;

/**
 * Validates raw flag values into a config; every problem is a FlagError
 * naming the flag. `warn` receives deprecation notices.
 */
export function resolveConfig(f: RawFlags, warn: FlagWarn = () => undefined): ApiserverConfig {
  const etcdServers = (f.etcdServers ?? 'http://127.0.0.1:2379').split(',').map((s) => s.trim()).filter(Boolean);
  if (etcdServers.length === 0) throw new FlagError('etcd-servers', 'at least one etcd URL is required');
  for (const s of etcdServers) if (!/^https?:\/\/[^/]+/.test(s)) throw new FlagError('etcd-servers', `"${s}" is not an http(s):// URL`);
  const etcdTls = etcdTlsFlags(f, etcdServers, 'etcd-servers');
  const etcdPrefix = (f.etcdPrefix ?? '/registry').replace(/\/+$/, '');
  if (!etcdPrefix.startsWith('/')) throw new FlagError('etcd-prefix', `"${f.etcdPrefix}" must start with /`);

  let serviceClusterIPRange: Cidr;
  try {
    serviceClusterIPRange = Cidr.parse(f.serviceClusterIpRange ?? '10.0.0.0/24');
  } catch (err) {
    throw new FlagError('service-cluster-ip-range', err instanceof CidrError ? err.message : String(err));
  }
  if (serviceClusterIPRange.prefix > 29) throw new FlagError('service-cluster-ip-range', `${serviceClusterIPRange.toString()} is too small (at most /29)`);
  let serviceNodePortRange: PortRange;
  try {
    serviceNodePortRange = parsePortRange(f.serviceNodePortRange ?? '30000-32767');
  } catch (err) {
    throw new FlagError('service-node-port-range', (err as Error).message);
  }

  const insecureBindAddress = f.insecureBindAddress ?? '127.0.0.1';
  if (!isLoopbackBind(insecureBindAddress))
    throw new FlagError('insecure-bind-address', `${insecureBindAddress} is not a loopback address; the insecure port has no authentication, use --bind-address with --secure-port for other addresses`);
  const insecurePort = portFlag('insecure-port', f.insecurePort ?? '8080');
  const bindAddress = f.bindAddress ?? '0.0.0.0';
  if (!isIP(bindAddress)) throw new FlagError('bind-address', `"${bindAddress}" is not an IP address`);

  const haveCert = f.tlsCertFile !== undefined || f.tlsPrivateKeyFile !== undefined;
  let securePort = portFlag('secure-port', f.securePort ?? '6443');
  if (!haveCert) {
    if (f.securePort !== undefined && securePort !== 0)
      throw new FlagError('secure-port', 'needs --tls-cert-file and --tls-private-key-file (or --secure-port 0 to serve only the insecure port)');
    securePort = 0;
  } else {
    if (!f.tlsCertFile || !f.tlsPrivateKeyFile) throw new FlagError(f.tlsCertFile ? 'tls-private-key-file' : 'tls-cert-file', 'missing: --tls-cert-file and --tls-private-key-file are given together');
    if (!f.tokenAuthFile) throw new FlagError('token-auth-file', 'missing: every request on the secure port must carry a bearer token');
  }
  if (insecurePort === 0 && securePort === 0) throw new FlagError('insecure-port', 'is 0 and secure serving is off: nothing to serve');

  const advertiseAddress = f.advertiseAddress ?? (securePort && bindAddress !== '0.0.0.0' && !isLoopbackBind(bindAddress) ? bindAddress : undefined);
  if (advertiseAddress !== undefined && !isIP(advertiseAddress)) throw new FlagError('advertise-address', `"${advertiseAddress}" is not an IP address`);

  const watchCacheSize = intFlag('watch-cache-size', f.watchCacheSize ?? '1000', 1, 10_000_000);

  const cfg: ApiserverConfig = {
    etcdServers,
    etcdPrefix,
    serviceClusterIPRange,
    serviceNodePortRange,
    insecureBindAddress,
    insecurePort,
    bindAddress,
    securePort,
    etcdCompactionIntervalMs: durationFlag('etcd-compaction-interval', f.etcdCompactionInterval ?? '5m', 0, 30 * 86_400_000, { warn }),
    watchCacheSize,
    authorizationModes: parseAuthorizationModes(f.authorizationMode ?? DEFAULT_AUTHORIZATION_MODE),
    eventTtlMs: eventTtlFlag(f.eventTtl ?? '1h', warn),
    requestHeaderTimeoutMs: durationFlag('request-header-timeout', f.requestHeaderTimeout ?? DEFAULT_REQUEST_HEADER_TIMEOUT, 100, 300_000, { warn }),
    defaultNotReadyTolerationSeconds: intFlag('default-not-ready-toleration-seconds', f.defaultNotReadyTolerationSeconds ?? '300', 0, MAX_TOLERATION_SECONDS),
    defaultUnreachableTolerationSeconds: intFlag('default-unreachable-toleration-seconds', f.defaultUnreachableTolerationSeconds ?? '300', 0, MAX_TOLERATION_SECONDS),
  };
  if (etcdTls) cfg.etcdTls = etcdTls;
  if (f.tlsCertFile) cfg.tlsCertFile = f.tlsCertFile;
  if (f.tlsPrivateKeyFile) cfg.tlsPrivateKeyFile = f.tlsPrivateKeyFile;
  if (f.tokenAuthFile) cfg.tokenAuthFile = f.tokenAuthFile;
  if (advertiseAddress) cfg.advertiseAddress = advertiseAddress;
  if ((f.kubeletClientCertificate === undefined) !== (f.kubeletClientKey === undefined))
    throw new FlagError(f.kubeletClientCertificate === undefined ? 'kubelet-client-certificate' : 'kubelet-client-key', 'missing: --kubelet-client-certificate and --kubelet-client-key are given together');
  for (const [flag, path] of [['kubelet-client-certificate', f.kubeletClientCertificate], ['kubelet-client-key', f.kubeletClientKey], ['kubelet-certificate-authority', f.kubeletCertificateAuthority]] as const) {
    if (path !== undefined) readableFileFlag(flag, path);
  }
  if (f.kubeletClientCertificate) cfg.kubeletClientCertificate = f.kubeletClientCertificate;
  if (f.kubeletClientKey) cfg.kubeletClientKey = f.kubeletClientKey;
  if (f.kubeletCertificateAuthority) cfg.kubeletCertificateAuthority = f.kubeletCertificateAuthority;
  return cfg;
}

/** The commander definition of `pilot apiserver`'s flags (kube-apiserver's names). */
export function apiserverCommand(): Command {
  return new Command('pilot apiserver')
    .description('Kubernetes-shaped API server over etcd')
    .addOption(new Option('--etcd-servers <urls>', 'comma-separated etcd client URLs').default('http://127.0.0.1:2379'))
    .addOption(new Option('--etcd-cafile <path>', "CA of etcd's serving certificate (PEM); with it --etcd-servers are https://"))
    .addOption(new Option('--etcd-certfile <path>', "client certificate shown to etcd (PEM), for etcd's --client-cert-auth"))
    .addOption(new Option('--etcd-keyfile <path>', 'key of --etcd-certfile (PEM)'))
    .addOption(new Option('--etcd-prefix <prefix>', 'key prefix of every API object in etcd').default('/registry'))
    .addOption(new Option('--service-cluster-ip-range <cidr>', 'ClusterIP range of Services').default('10.0.0.0/24'))
    .addOption(new Option('--service-node-port-range <min-max>', 'NodePort range').default('30000-32767'))
    .addOption(new Option('--insecure-bind-address <ip>', 'loopback address of the plain-HTTP port').default('127.0.0.1'))
    .addOption(new Option('--insecure-port <port>', 'plain-HTTP port (0 = off)').default('8080'))
    .addOption(new Option('--bind-address <ip>', 'address of the TLS port').default('0.0.0.0'))
    .addOption(new Option('--secure-port <port>', 'TLS port (needs --tls-cert-file, --tls-private-key-file, --token-auth-file); default 6443'))
    .addOption(new Option('--tls-cert-file <path>', 'serving certificate (PEM)'))
    .addOption(new Option('--tls-private-key-file <path>', 'serving key (PEM)'))
    .addOption(new Option('--token-auth-file <path>', 'bearer tokens, CSV: token,user,uid[,"groups"]'))
    .addOption(new Option('--authorization-mode <modes>', 'authorizers of the secure port, in order: AlwaysAllow, AlwaysDeny, Node, RBAC').default(DEFAULT_AUTHORIZATION_MODE))
    .addOption(new Option('--advertise-address <ip>', 'address published in the default/kubernetes Endpoints'))
    .addOption(new Option('--etcd-compaction-interval <duration>', 'how often etcd history is compacted (0 = never)').default('5m'))
    .addOption(new Option('--watch-cache-size <events>', 'recent events kept per resource for watchers').default('1000'))
    .addOption(new Option('--event-ttl <duration>', 'how long Events are kept in etcd (an etcd lease; 0 = forever)').default('1h'))
    .addOption(new Option('--request-header-timeout <duration>', 'close a connection that has not sent a request\'s headers (or finished its TLS handshake) this soon').default(DEFAULT_REQUEST_HEADER_TIMEOUT))
    .addOption(new Option('--kubelet-client-certificate <path>', 'client certificate shown to kubelets for logs, exec, attach and port-forward (PEM)'))
    .addOption(new Option('--kubelet-client-key <path>', 'key of --kubelet-client-certificate (PEM)'))
    .addOption(new Option('--kubelet-certificate-authority <path>', "CA of the kubelets' serving certificates, which are verified (PEM)"))
    .addOption(new Option('--default-not-ready-toleration-seconds <n>', 'tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration added to every pod without one').default('300'))
    .addOption(new Option('--default-unreachable-toleration-seconds <n>', 'tolerationSeconds of the node.kubernetes.io/unreachable:NoExecute toleration added to every pod without one').default('300'));
}
