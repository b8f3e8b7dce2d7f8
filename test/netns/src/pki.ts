import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '@pilot/common';

/**
 * Test PKI for the apiserver's secure port: an openssl CA, a serving
 * certificate for the given IPs (plus the usual kubernetes DNS names), a
 * bearer token in kube-apiserver's token-file format, and kubeconfigs that
 * use them, so daemons in other host namespaces reach the apiserver over TLS.
 */

export interface Pki {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  /** The admin token (in tokenFile). */
  token: string;
  tokenFile: string;
}

export async function createPki(dir: string, opts: { ips: readonly string[]; dnsNames?: readonly string[] }): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => `${dir}/${f}`;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(['openssl', 'req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=pilot-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run(['openssl', 'req', ...ec, '-keyout', p('apiserver.key'), '-out', p('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  const dns = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost', ...(opts.dnsNames ?? [])];
  const san = [...new Set(['127.0.0.1', ...opts.ips])].map((ip) => `IP:${ip}`).concat(dns.map((d) => `DNS:${d}`)).join(',');
  writeFileSync(p('apiserver.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  await run(['openssl', 'x509', '-req', '-in', p('apiserver.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('apiserver.crt'), '-days', '2', '-extfile', p('apiserver.ext')]);
  const token = randomBytes(16).toString('hex');
  writeFileSync(p('tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  return {
    dir,
    caFile: p('ca.crt'),
    caPem: readFileSync(p('ca.crt'), 'utf8'),
    certFile: p('apiserver.crt'),
    keyFile: p('apiserver.key'),
    token,
    tokenFile: p('tokens.csv'),
  };
}

/**
 * Writes a kubeconfig (JSON, which kubectl reads too) for `server`. With a
 * Pki the CA is embedded and the token used unless `token: null`.
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
