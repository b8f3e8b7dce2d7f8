import { accessSync, constants, readFileSync } from 'node:fs';
import { FatalError } from './fatal.js';
import { FlagError } from './flags.js';

/**
 * etcd client TLS as flanneld and kube-apiserver take it (the same names in
 * both: `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`): the CA that
 * signed etcd's serving certificate, and the client certificate and key
 * etcd's `--client-cert-auth` asks for. The flags are checked when they are
 * parsed (etcdTlsFlags: given together, readable, only with https://
 * endpoints); the files are read when the client connects (etcdCredentials),
 * in the shape etcd3's `credentials` option takes.
 */

export interface EtcdTlsRawFlags {
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
}

export interface EtcdTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** etcd3's `credentials` (grpc's createSsl arguments). */
export interface EtcdCredentials {
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

/** A path flag whose file must be readable now: `--flag: <path> cannot be read: ENOENT`. */
export function readableFileFlag(flag: string, path: string): string {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new FlagError(flag, `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return path;
}

const FLAGS = [
  ['etcd-cafile', 'etcdCafile', 'caFile'],
  ['etcd-certfile', 'etcdCertfile', 'certFile'],
  ['etcd-keyfile', 'etcdKeyfile', 'keyFile'],
] as const;

/**
 * The TLS flags, validated against the endpoints (`endpointsFlag` names the
 * flag they came from, `etcd-endpoints` or `etcd-servers`); undefined when
 * none is given (an empty value counts as not given, as flanneld's defaults are).
 */
export function etcdTlsFlags(raw: EtcdTlsRawFlags, endpoints: readonly string[], endpointsFlag: string): EtcdTls | undefined {
  const tls: EtcdTls = {};
  for (const [flag, key, field] of FLAGS) {
    const path = raw[key];
    if (path) tls[field] = readableFileFlag(flag, path);
  }
  if (!tls.caFile && !tls.certFile && !tls.keyFile) return undefined;
  if (!tls.certFile !== !tls.keyFile)
    throw new FlagError(tls.certFile ? 'etcd-keyfile' : 'etcd-certfile', 'missing: --etcd-certfile and --etcd-keyfile are given together');
  const plain = endpoints.find((e) => !e.startsWith('https://'));
  if (plain !== undefined) throw new FlagError(endpointsFlag, `"${plain}" is not https://: with --etcd-cafile/--etcd-certfile every etcd endpoint is a TLS one`);
  return tls;
}

/** Reads the files of `tls` for etcd3's `credentials`; a file that went missing since is one line naming its flag. */
export function etcdCredentials(tls: EtcdTls): EtcdCredentials {
  const read = (flag: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new FatalError(`--${flag}: ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const creds: EtcdCredentials = {
    // grpc's createSsl takes null for "the system's CAs".
    rootCertificate: read('etcd-cafile', tls.caFile) ?? (null as unknown as Buffer),
  };
  const key = read('etcd-keyfile', tls.keyFile);
  const cert = read('etcd-certfile', tls.certFile);
  if (key) creds.privateKey = key;
  if (cert) creds.certChain = cert;
  return creds;
}
