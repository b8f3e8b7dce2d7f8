import { issueCert, selfSignedCa } from '@pilot/orchestrator-core/up';

/** A self-made CA and a client certificate from it: what an outsider could show a kubelet. */
export async function foreignClientCert(dir: string): Promise<{ certFile: string; keyFile: string }> {
  await selfSignedCa(dir, 'foreign-ca', 'foreign-ca', 2);
  return issueCert(dir, 'foreign-ca', 'foreign-client', '/CN=kube-apiserver-kubelet-client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n', 2);
}
