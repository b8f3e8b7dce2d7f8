import { apiGroupListDocument, apiResourceList, apiVersionsDocument, groupVersions } from '@pilot/api';
import { KUBERNETES_VERSION } from '../component/version.js';

/**
 * Legacy discovery documents. kubectl on this machine is a dispatcher that
 * picks its binary by the server's minor version, so /version says 1.32.
 */

export const VERSION_INFO = {
  ...KUBERNETES_VERSION,
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The discovery document for `path`, or undefined when it is not a discovery path. */
export function discoveryDocument(path: string, serverAddress: string): unknown {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/version') return VERSION_INFO;
  if (p === '/api') return apiVersionsDocument(serverAddress);
  if (p === '/apis') return apiGroupListDocument();
  let m = /^\/api\/([^/]+)$/.exec(p);
  if (m) return groupVersions().some((gv) => gv.group === '' && gv.version === m![1]) ? apiResourceList('', m[1]!) : undefined;
  m = /^\/apis\/([^/]+)$/.exec(p);
  if (m) {
    const versions = groupVersions()
      .filter((gv) => gv.group === m![1])
      .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
    return versions.length ? { kind: 'APIGroup', apiVersion: 'v1', name: m[1], versions, preferredVersion: versions[0] } : undefined;
  }
  m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
  if (m) return groupVersions().some((gv) => gv.group === m![1] && gv.version === m![2]) ? apiResourceList(m[1]!, m[2]!) : undefined;
  if (p === '/') {
    return { paths: ['/api', '/api/v1', '/apis', ...groupVersions().filter((g) => g.group).map((g) => `/apis/${g.group}/${g.version}`), '/healthz', '/livez', '/readyz', '/metrics', '/version'] };
  }
  return undefined;
}
