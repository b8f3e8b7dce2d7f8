import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FatalError } from '@pilot/common';
import { createEtcdPki, createPki, identityKey, kubeletServingCert, writeKubeconfig, type Identity } from '../pki/pki.js';
import type { CertsConfig } from './flags.js';

/**
 * `pilot certs`: a cluster's PKI for real hosts, made with the same code as
 * `pilot up`'s and the netns harness's (pki/pki.ts), into one directory:
 *
 *   1. the files it will write (certsFiles, a pure list);
 *   2. none of them may exist unless --force (checked before anything is made);
 *   3. everything is made in a staging directory inside --dir, then each file
 *      is renamed into place (readers never see half a file), keys,
 *      tokens and kubeconfigs 0600; the staging directory (CSRs, serials) goes.
 */

export interface CertsFile {
  /** Path relative to --dir. */
  path: string;
  /** Who uses it, and with which flag. */
  what: string;
  /** A key, a token or a kubeconfig holding one: 0600. */
  secret: boolean;
}

/** The identities that get a kubeconfig, and its file name (the deploy/ units' names). */
function kubeconfigs(c: CertsConfig): { who: Identity; file: string; what: string }[] {
  return [
    { who: 'admin', file: 'admin.kubeconfig', what: 'kubectl as admin (system:masters)' },
    { who: 'scheduler', file: 'scheduler.kubeconfig', what: 'pilot scheduler --kubeconfig (system:kube-scheduler)' },
    { who: 'controller-manager', file: 'controller-manager.kubeconfig', what: 'pilot controller-manager --kubeconfig (system:kube-controller-manager)' },
    { who: 'svcproxy', file: 'svcproxy.kubeconfig', what: 'svcproxy --kubeconfig (system:kube-proxy)' },
    { who: 'dnsd', file: 'dnsd.kubeconfig', what: 'dnsd --kubeconfig (kube-system/kube-dns service account)' },
    ...c.nodes.map((n) => ({ who: { node: n.name }, file: `kubelet-${n.name}.kubeconfig`, what: `pilot kubelet --kubeconfig on ${n.name} (system:node:${n.name} in system:nodes)` })),
  ];
}

/** Every file `pilot certs` writes for `c`, in the order it lists them. */
export function certsFiles(c: CertsConfig): CertsFile[] {
  const pair = (name: string, what: string): CertsFile[] => [
    { path: `${name}.crt`, what, secret: false },
    { path: `${name}.key`, what: `key of ${name}.crt`, secret: true },
  ];
  return [
    ...pair('ca', 'cluster CA: kubeconfigs embed it; the apiserver --kubelet-certificate-authority'),
    ...pair('apiserver', 'pilot apiserver --tls-cert-file / --tls-private-key-file'),
    { path: 'tokens.csv', what: 'pilot apiserver --token-auth-file', secret: true },
    ...pair('kubelet-client-ca', "kubelets' --client-ca-file (signs only the apiserver's kubelet client certificate)"),
    ...pair('apiserver-kubelet-client', 'pilot apiserver --kubelet-client-certificate / --kubelet-client-key'),
    ...c.nodes.flatMap((n) => pair(`kubelet-${n.name}`, `pilot kubelet --tls-cert-file / --tls-private-key-file on ${n.name}`)),
    ...pair('etcd/ca', "etcd --trusted-ca-file; its clients' --etcd-cafile"),
    ...pair('etcd/server', 'etcd --cert-file / --key-file'),
    ...pair('etcd/healthcheck-client', 'etcdctl --cert / --key'),
    ...pair('apiserver-etcd-client', 'pilot apiserver --etcd-certfile / --etcd-keyfile'),
    ...pair('overlayd-etcd-client', 'overlayd -etcd-certfile / -etcd-keyfile'),
    ...kubeconfigs(c).map((k) => ({ path: k.file, what: k.what, secret: true })),
  ];
}

/** Makes every file of certsFiles(c) in `c.dir`; returns them. Throws a one-line FatalError when one exists and --force is not given. */
export async function writeCerts(c: CertsConfig): Promise<CertsFile[]> {
  const files = certsFiles(c);
  const existing = files.filter((f) => existsSync(join(c.dir, f.path)));
  if (existing.length > 0 && !c.force) {
    const more = existing.length > 1 ? ` (and ${existing.length - 1} more of the ${files.length} it writes)` : '';
    throw new FatalError(`${join(c.dir, existing[0]!.path)} exists${more}: pilot certs never overwrites; --force makes them all again`);
  }
  mkdirSync(c.dir, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(c.dir, '.pilot-certs-'));
  try {
    const pki = await createPki(staging, { ips: c.apiserverIps, dnsNames: c.apiserverDnsNames, nodes: c.nodes.map((n) => n.name), days: c.days });
    for (const n of c.nodes) await kubeletServingCert(pki, n.name, n.ips, c.days);
    await createEtcdPki(staging, { names: c.etcdNames, days: c.days });
    for (const k of kubeconfigs(c)) writeKubeconfig(join(staging, k.file), { server: c.server, pki, token: pki.tokens.get(identityKey(k.who)) ?? null });
    for (const f of files) {
      const from = join(staging, f.path);
      const to = join(c.dir, f.path);
      chmodSync(from, f.secret ? 0o600 : 0o644);
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      renameSync(from, to);
    }
  } catch (err) {
    throw new FatalError(`creating the certificates in ${c.dir} failed: ${(err as Error).message}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return files;
}
