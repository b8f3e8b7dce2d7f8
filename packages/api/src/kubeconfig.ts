/**
 * kubeconfig loading: picks a context and resolves its cluster and user into
 * the few settings the client needs. Relative file paths are resolved
 * against the kubeconfig's own directory, as kubectl does.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** What the client needs from a kubeconfig. */
export interface ResolvedKubeconfig {
  server: string;
  ca?: Buffer;
  insecureSkipTLSVerify?: boolean;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** The context's namespace (kubectl's default for namespaced requests). */
  namespace?: string;
  context: string;
}

interface Named<T> {
  name?: string;
  [k: string]: unknown;
  value?: T;
}

type Obj = Record<string, unknown>;

function findNamed(list: unknown, name: string, field: string, what: string, file: string): Obj {
  if (!Array.isArray(list)) throw new KubeconfigError(`${file}: no "${what}s" list`);
  const entry = (list as Named<unknown>[]).find((e) => e && e.name === name);
  if (!entry) throw new KubeconfigError(`${file}: ${what} "${name}" not found`);
  const body = entry[field];
  if (typeof body !== 'object' || body === null) throw new KubeconfigError(`${file}: ${what} "${name}" has no "${field}" section`);
  return body as Obj;
}

function str(o: Obj, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Resolves a kubeconfig given as text. `file` names it in errors and anchors
 * relative paths; `readFile` is injectable for tests.
 */
export function resolveKubeconfig(
  text: string,
  opts: { file?: string; context?: string; readFile?: (path: string) => Buffer } = {},
): ResolvedKubeconfig {
  const file = opts.file ?? 'kubeconfig';
  const read = opts.readFile ?? ((p: string) => readFileSync(p));
  const baseDir = opts.file ? dirname(resolve(opts.file)) : process.cwd();
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const readRef = (p: string, what: string): Buffer => {
    try {
      return read(path(p));
    } catch (err) {
      throw new KubeconfigError(`${file}: cannot read ${what} ${path(p)}: ${(err as Error).message}`);
    }
  };

  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeconfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new KubeconfigError(`${file}: empty or not a mapping`);
  const cfg = doc as Obj;
  const contextName = opts.context ?? str(cfg, 'current-context');
  if (!contextName) throw new KubeconfigError(`${file}: no current-context set and no context given`);
  const ctx = findNamed(cfg.contexts, contextName, 'context', 'context', file);
  const clusterName = str(ctx, 'cluster');
  if (!clusterName) throw new KubeconfigError(`${file}: context "${contextName}" names no cluster`);
  const cluster = findNamed(cfg.clusters, clusterName, 'cluster', 'cluster', file);
  const userName = str(ctx, 'user');
  const user: Obj = userName ? findNamed(cfg.users, userName, 'user', 'user', file) : {};

  const server = str(cluster, 'server');
  if (!server) throw new KubeconfigError(`${file}: cluster "${clusterName}" has no server`);
  const out: ResolvedKubeconfig = { server, context: contextName };

  const caData = str(cluster, 'certificate-authority-data');
  const caFile = str(cluster, 'certificate-authority');
  if (caData) out.ca = Buffer.from(caData, 'base64');
  else if (caFile) out.ca = readRef(caFile, 'certificate-authority');
  if (cluster['insecure-skip-tls-verify'] === true) out.insecureSkipTLSVerify = true;

  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile');
  if (token) out.token = token;
  else if (tokenFile) out.token = readRef(tokenFile, 'tokenFile').toString('utf8').trim();
  const certData = str(user, 'client-certificate-data');
  const certFile = str(user, 'client-certificate');
  if (certData) out.cert = Buffer.from(certData, 'base64');
  else if (certFile) out.cert = readRef(certFile, 'client-certificate');
  const keyData = str(user, 'client-key-data');
  const keyFile = str(user, 'client-key');
  if (keyData) out.key = Buffer.from(keyData, 'base64');
  else if (keyFile) out.key = readRef(keyFile, 'client-key');

  const ns = str(ctx, 'namespace');
  if (ns) out.namespace = ns;
  return out;
}

/** Reads and resolves a kubeconfig file. */
export function loadKubeconfig(file: string, context?: string): ResolvedKubeconfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return resolveKubeconfig(text, { file, ...(context ? { context } : {}) });
}

/** Renders a minimal kubeconfig (for tests, benches and the harness). */
export function renderKubeconfig(opts: {
  server: string;
  ca?: string | Buffer;
  token?: string;
  insecureSkipTLSVerify?: boolean;
  name?: string;
  namespace?: string;
}): string {
  const name = opts.name ?? 'pilot';
  const cluster: Obj = { server: opts.server };
  if (opts.ca) cluster['certificate-authority-data'] = Buffer.from(opts.ca).toString('base64');
  if (opts.insecureSkipTLSVerify) cluster['insecure-skip-tls-verify'] = true;
  const user: Obj = opts.token ? { token: opts.token } : {};
  const context: Obj = { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) };
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster }],
      users: [{ name, user }],
      contexts: [{ name, context }],
      'current-context': name,
    },
    null,
    2,
  );
}
