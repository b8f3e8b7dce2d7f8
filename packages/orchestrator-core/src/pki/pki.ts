import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { run } from '@pilot/common';

/**
 * A cluster's PKI, made with openssl: a CA, the apiserver's serving
 * certificate for the given IPs (plus the usual kubernetes DNS names),
 * bearer tokens in kube-apiserver's token-file format — the admin (in
 * system:masters), one identity per component as upstream names them
 * (system:kube-scheduler, system:kube-controller-manager, system:kube-proxy,
 * dnsd as the kube-system/kube-dns service account, each node as
 * system:node:<name> in system:nodes) and any test users asked for — and
 * kubeconfigs that use them, so daemons reach the apiserver over TLS, each
 * as itself. `pilot up` makes one on
 * first start (and reuses it after); the netns harness makes one per run.
 *
 * For the kubelet API: a CA of its own that signs only the apiserver's
 * kubelet client certificate (the kubelets' --client-ca-file, so that
 * credential is the one way in), and kubelet serving certificates per node
 * (`kubeletServingCert`, SAN = the node's IP) from the main CA, which the
 * apiserver verifies (--kubelet-certificate-authority). etcd's PKI
 * (createEtcdPki) is separate, with a CA of its own.
 *
 * `pilot certs` writes all of it for a real cluster (certs/certs.ts).
 */

export interface Pki {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  /** The admin token (in tokenFile). */
  token: string;
  /** Every identity's token (in tokenFile), by identityKey(). */
  tokens: ReadonlyMap<string, string>;
  tokenFile: string;
  /** Kubelets' --client-ca-file: signs the apiserver's kubelet client certificate and nothing else. */
  kubeletClientCaFile: string;
  /** The apiserver's --kubelet-client-certificate / --kubelet-client-key. */
  kubeletClientCertFile: string;
  kubeletClientKeyFile: string;
}

/** Who a token is for: the admin, a control-plane or host component, a node's kubelet, or a test user. */
export type Identity = 'admin' | 'scheduler' | 'controller-manager' | 'svcproxy' | 'dnsd' | { node: string } | { user: string };

export interface TestUser {
  name: string;
  groups?: readonly string[];
}

/** The token map's key of an identity. */
export function identityKey(who: Identity): string {
  if (typeof who === 'string') return who;
  return 'node' in who ? `node:${who.node}` : `user:${who.user}`;
}

/** The user and groups the token file gives an identity (upstream's component names). */
function userOf(who: Identity): { user: string; groups: readonly string[] } {
  if (typeof who !== 'string') return 'node' in who ? { user: `system:node:${who.node}`, groups: ['system:nodes'] } : { user: who.user, groups: [] };
  switch (who) {
    case 'admin':
      return { user: 'admin', groups: ['system:masters'] };
    case 'scheduler':
      return { user: 'system:kube-scheduler', groups: [] };
    case 'controller-manager':
      return { user: 'system:kube-controller-manager', groups: [] };
    case 'svcproxy':
      return { user: 'system:kube-proxy', groups: [] };
    case 'dnsd':
      return { user: 'system:serviceaccount:kube-system:kube-dns', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
  }
}

/** The identity a token file's user name stands for (userOf read backwards). */
function identityOfUser(user: string): string {
  const component = (['admin', 'scheduler', 'controller-manager', 'svcproxy', 'dnsd'] as const).find((c) => userOf(c).user === user);
  if (component) return component;
  return user.startsWith('system:node:') ? `node:${user.slice('system:node:'.length)}` : `user:${user}`;
}

export interface PkiOptions {
  /** The apiserver's addresses (127.0.0.1 is always added). */
  ips: readonly string[];
  dnsNames?: readonly string[];
  /** Nodes that get a kubelet identity (system:node:<name>). */
  nodes?: readonly string[];
  /** Test users (with groups) the token file also holds. */
  users?: readonly TestUser[];
  /** Validity of every certificate (default 365). */
  days?: number;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DEFAULT_DAYS = 365;

/** A self-signed CA `<name>.crt/.key` in `dir`. */
export async function selfSignedCa(dir: string, name: string, cn: string, days = DEFAULT_DAYS): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await run(['openssl', 'req', '-x509', ...EC, '-keyout', `${dir}/${name}.key`, '-out', `${dir}/${name}.crt`, '-days', String(days), '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** A leaf certificate signed by `ca` (its .crt/.key in `dir`), written as `<name>.crt/.key`. */
export async function issueCert(dir: string, ca: string, name: string, subject: string, ext: string, days = DEFAULT_DAYS): Promise<{ certFile: string; keyFile: string }> {
  const p = (f: string) => `${dir}/${f}`;
  await run(['openssl', 'req', ...EC, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject]);
  writeFileSync(p(`${name}.ext`), ext);
  await run(['openssl', 'x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${ca}.crt`), '-CAkey', p(`${ca}.key`), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', String(days), '-extfile', p(`${name}.ext`)]);
  return { certFile: p(`${name}.crt`), keyFile: p(`${name}.key`) };
}

/** A kubelet's serving certificate for `ip` (the apiserver dials the node's InternalIP), signed by the main CA. */
export async function kubeletServingCert(pki: Pki, name: string, ip: string | readonly string[], days = DEFAULT_DAYS): Promise<{ certFile: string; keyFile: string }> {
  const san = [...(typeof ip === 'string' ? [ip] : ip).map((a) => `IP:${a}`), `DNS:${name}`].join(',');
  return issueCert(pki.dir, 'ca', `kubelet-${name}`, `/CN=${name}`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n`, days);
}

/** `IP:a,DNS:b` of a list of addresses and names (IPv4/IPv6 literals become IP entries). */
function subjectAltNames(names: readonly string[]): string {
  return [...new Set(names)].map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/**
 * etcd's own PKI (kubeadm's layout): a CA of its own in `etcd/`, etcd's
 * serving certificate (also good as a client one, as kubeadm's), and the
 * client certificates etcd's `--client-cert-auth` lets in — the apiserver's,
 * overlayd's and one for health checks and etcdctl.
 */
export interface EtcdPki {
  /** etcd's --trusted-ca-file; the clients' --etcd-cafile. */
  caFile: string;
  /** etcd's --cert-file / --key-file. */
  serverCertFile: string;
  serverKeyFile: string;
  /** The apiserver's --etcd-certfile / --etcd-keyfile. */
  apiserverClient: { certFile: string; keyFile: string };
  /** overlayd's -etcd-certfile / -etcd-keyfile. */
  overlaydClient: { certFile: string; keyFile: string };
  /** For etcdctl and health probes. */
  healthcheckClient: { certFile: string; keyFile: string };
}

export function etcdPkiOf(dir: string): EtcdPki {
  const pair = (name: string) => ({ certFile: `${dir}/${name}.crt`, keyFile: `${dir}/${name}.key` });
  return {
    caFile: `${dir}/etcd/ca.crt`,
    serverCertFile: `${dir}/etcd/server.crt`,
    serverKeyFile: `${dir}/etcd/server.key`,
    apiserverClient: pair('apiserver-etcd-client'),
    overlaydClient: pair('overlayd-etcd-client'),
    healthcheckClient: pair('etcd/healthcheck-client'),
  };
}

/** Makes etcd's PKI in `dir` (etcdPkiOf's files); `names` are etcd's addresses and host names (127.0.0.1, ::1 and localhost are always added). */
export async function createEtcdPki(dir: string, opts: { names: readonly string[]; days?: number }): Promise<EtcdPki> {
  const days = opts.days ?? DEFAULT_DAYS;
  mkdirSync(`${dir}/etcd`, { recursive: true, mode: 0o700 });
  await selfSignedCa(dir, 'etcd/ca', 'etcd-ca', days);
  const san = subjectAltNames(['127.0.0.1', '::1', 'localhost', ...opts.names]);
  await issueCert(dir, 'etcd/ca', 'etcd/server', '/CN=etcd-server', `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n`, days);
  const client = 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
  await issueCert(dir, 'etcd/ca', 'apiserver-etcd-client', '/O=system:masters/CN=kube-apiserver-etcd-client', client, days);
  await issueCert(dir, 'etcd/ca', 'overlayd-etcd-client', '/CN=overlayd', client, days);
  await issueCert(dir, 'etcd/ca', 'etcd/healthcheck-client', '/O=system:masters/CN=kube-etcd-healthcheck-client', client, days);
  return etcdPkiOf(dir);
}

function pkiOf(dir: string, tokens: ReadonlyMap<string, string>): Pki {
  const p = (f: string) => `${dir}/${f}`;
  return {
    dir,
    caFile: p('ca.crt'),
    caPem: readFileSync(p('ca.crt'), 'utf8'),
    certFile: p('apiserver.crt'),
    keyFile: p('apiserver.key'),
    token: tokens.get('admin') ?? '',
    tokens,
    tokenFile: p('tokens.csv'),
    kubeletClientCaFile: p('kubelet-client-ca.crt'),
    kubeletClientCertFile: p('apiserver-kubelet-client.crt'),
    kubeletClientKeyFile: p('apiserver-kubelet-client.key'),
  };
}

const PKI_FILES = ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'tokens.csv', 'kubelet-client-ca.crt', 'apiserver-kubelet-client.crt', 'apiserver-kubelet-client.key'];

/** The PKI createPki wrote in `dir` earlier, or undefined when any part is missing. */
export function loadPki(dir: string): Pki | undefined {
  if (!PKI_FILES.every((f) => existsSync(`${dir}/${f}`))) return undefined;
  const tokens = new Map<string, string>();
  for (const line of readFileSync(`${dir}/tokens.csv`, 'utf8').split('\n')) {
    const [token, user] = line.split(',');
    if (token && user) tokens.set(identityOfUser(user.trim()), token.trim());
  }
  return tokens.has('admin') ? pkiOf(dir, tokens) : undefined;
}

export async function createPki(dir: string, opts: PkiOptions): Promise<Pki> {
  const days = opts.days ?? DEFAULT_DAYS;
  const p = (f: string) => `${dir}/${f}`;
  await selfSignedCa(dir, 'ca', 'pilot-ca', days);
  const dns = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost', ...(opts.dnsNames ?? [])];
  const san = [...new Set(['127.0.0.1', ...opts.ips])].map((ip) => `IP:${ip}`).concat(dns.map((d) => `DNS:${d}`)).join(',');
  await issueCert(dir, 'ca', 'apiserver', '/CN=kube-apiserver', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n`, days);
  await selfSignedCa(dir, 'kubelet-client-ca', 'pilot-kubelet-client-ca', days);
  await issueCert(dir, 'kubelet-client-ca', 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n', days);
  const identities: Identity[] = ['admin', 'scheduler', 'controller-manager', 'svcproxy', 'dnsd', ...(opts.nodes ?? []).map((node) => ({ node })), ...(opts.users ?? []).map((u) => ({ user: u.name }))];
  const tokens = new Map<string, string>();
  const lines = identities.map((who) => {
    const token = randomBytes(16).toString('hex');
    tokens.set(identityKey(who), token);
    const { user, groups } = userOf(who);
    const extra = typeof who !== 'string' && 'user' in who ? (opts.users ?? []).find((u) => u.name === who.user)?.groups ?? [] : [];
    return `${token},${user},${user}-uid,"${[...groups, ...extra].join(',')}"`;
  });
  writeFileSync(p('tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
  return pkiOf(dir, tokens);
}

/**
 * Writes a kubeconfig (JSON, which kubectl reads too) for `server`, context
 * `pilot`. With a Pki the CA is embedded and the token used unless `token: null`.
 */
export function writeKubeconfig(path: string, opts: { server: string; pki?: Pki; token?: string | null; namespace?: string }): string {
  const cluster: Record<string, unknown> = { server: opts.server };
  if (opts.pki) cluster['certificate-authority-data'] = Buffer.from(opts.pki.caPem).toString('base64');
  const token = opts.token === null ? undefined : (opts.token ?? opts.pki?.token);
  const user: Record<string, unknown> = token ? { token } : {};
  const context: Record<string, unknown> = { cluster: 'pilot', user: 'pilot', ...(opts.namespace ? { namespace: opts.namespace } : {}) };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pilot', cluster }],
    users: [{ name: 'pilot', user }],
    contexts: [{ name: 'pilot', context }],
    'current-context': 'pilot',
  };
  writeFileSync(path, JSON.stringify(doc, null, 2), { mode: 0o600 });
  return path;
}
