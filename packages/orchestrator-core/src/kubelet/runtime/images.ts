import type { AuthConfig } from './runtime.js';

/**
 * Image references as Docker reads them (distribution/reference), and the
 * registry credentials of a pull. Pure.
 */

// A path component: lowercase alphanumerics with single separators (. _ __ -+).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const REF = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

export interface ImageRef {
  /** Registry host[:port], or undefined for Docker Hub. */
  domain?: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses a reference; a first component counts as a registry when it has a `.` or `:` or is `localhost` (Docker's rule). */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = REF.exec(ref);
  if (!m) return undefined;
  let domain = m[1];
  let path = m[2]!;
  if (domain && !/[.:]/.test(domain) && domain !== 'localhost' && !domain.startsWith('[')) {
    // `guest/mynode`: "guest" is a Docker Hub user, not a registry.
    if (domain !== domain.toLowerCase()) return undefined;
    path = `${domain}/${path}`;
    domain = undefined;
  }
  return { ...(domain ? { domain } : {}), path, ...(m[3] ? { tag: m[3] } : {}), ...(m[4] ? { digest: m[4] } : {}) };
}

/** The reference with the default tag (`latest`) when it names neither tag nor digest; undefined when invalid. */
export function normalizeImage(ref: string): string | undefined {
  const r = parseImageRef(ref);
  if (!r) return undefined;
  const name = r.domain ? `${r.domain}/${r.path}` : r.path;
  if (r.digest) return `${name}${r.tag ? `:${r.tag}` : ''}@${r.digest}`;
  return `${name}:${r.tag ?? 'latest'}`;
}

/** The X-Registry-Auth body Docker expects for a pull. */
export function pullAuth(a: AuthConfig): Record<string, string> {
  let { username, password } = a;
  if (a.auth && (username === undefined || password === undefined)) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) {
      username = plain.slice(0, i);
      password = plain.slice(i + 1);
    }
  }
  const out: Record<string, string> = {};
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  if (a.serverAddress) out.serveraddress = a.serverAddress;
  if (a.identityToken) out.identitytoken = a.identityToken;
  if (a.registryToken) out.registrytoken = a.registryToken;
  return out;
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** `https://index.docker.io/v1/`, `myreg:5000`, `http://myreg/path` → host and path as the kubelet's keyring compares them. */
function keyOf(key: string): { host: string; path: string } {
  const noScheme = key.replace(/^[a-z]+:\/\//, '');
  const slash = noScheme.indexOf('/');
  const host = (slash < 0 ? noScheme : noScheme.slice(0, slash)).toLowerCase();
  let path = slash < 0 ? '' : noScheme.slice(slash + 1).replace(/\/+$/, '');
  // Docker Hub's legacy key carries the API version, not a repository path.
  if (DOCKER_HUB.has(host) && /^v[12]$/.test(path)) path = '';
  return { host: DOCKER_HUB.has(host) ? 'docker.io' : host, path };
}

interface DockerConfigEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * The credentials for an image from the pod's imagePullSecrets, as the
 * kubelet's keyring matches them: each secret's `.dockerconfigjson`
 * (`{"auths": {...}}`) or legacy `.dockercfg` (`{...}`), decoded; the entry
 * whose registry host equals the image's (Docker Hub's aliases are one) and
 * whose path is a prefix of the image's path; the longest such path wins.
 */
export function credentialsFor(image: string, dockerConfigs: readonly unknown[]): AuthConfig | undefined {
  const ref = parseImageRef(image);
  if (!ref) return undefined;
  const host = ref.domain ? (DOCKER_HUB.has(ref.domain.toLowerCase()) ? 'docker.io' : ref.domain.toLowerCase()) : 'docker.io';
  let best: { len: number; auth: AuthConfig } | undefined;
  for (const cfg of dockerConfigs) {
    if (!cfg || typeof cfg !== 'object') continue;
    const auths = ((cfg as { auths?: unknown }).auths ?? cfg) as Record<string, DockerConfigEntry>;
    for (const [key, entry] of Object.entries(auths)) {
      if (!entry || typeof entry !== 'object') continue;
      const k = keyOf(key);
      if (k.host !== host) continue;
      if (k.path && ref.path !== k.path && !ref.path.startsWith(`${k.path}/`)) continue;
      if (best && best.len >= k.path.length) continue;
      best = {
        len: k.path.length,
        auth: {
          ...(entry.username !== undefined ? { username: entry.username } : {}),
          ...(entry.password !== undefined ? { password: entry.password } : {}),
          ...(entry.auth ? { auth: entry.auth } : {}),
          ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}),
          ...(entry.registrytoken ? { registryToken: entry.registrytoken } : {}),
          serverAddress: key,
        },
      };
    }
  }
  return best?.auth;
}
