import { parseResourcePath } from '../../src/apiserver/http/request.js';
import { verbOf } from '../../src/apiserver/http/handlers.js';
import { dryRunOf, isLongRunning, nonResourceLabels, requestKind, resourceLabels } from '../../src/apiserver/request-labels.js';

/** The labels of one request as the apiserver computes them from its path, method and query. */
function labelsOf(method: string, url: string, contentType?: string) {
  const [path, query] = url.split('?');
  const q = new URLSearchParams(query ?? '');
  const p = parseResourcePath(path!)!;
  return resourceLabels(verbOf(method, p, q), method, p, q, contentType);
}

describe('apiserver request metric labels (upstream k8s.io/apiserver/pkg/endpoints/metrics)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', undefined, { verb: 'LIST', scope: 'namespace', group: '', version: 'v1', resource: 'pods', subresource: '' }],
    ['GET', '/api/v1/pods', undefined, { verb: 'LIST', scope: 'cluster', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/default/pods/web', undefined, { verb: 'GET', scope: 'resource' }],
    ['HEAD', '/api/v1/namespaces/default/pods/web', undefined, { verb: 'GET', scope: 'resource' }],
    ['GET', '/api/v1/namespaces/default/pods?watch=true', undefined, { verb: 'WATCH', scope: 'namespace' }],
    ['GET', '/api/v1/nodes?watch=1', undefined, { verb: 'WATCH', scope: 'cluster', resource: 'nodes' }],
    ['POST', '/api/v1/namespaces/default/pods', undefined, { verb: 'POST', scope: 'resource' }],
    ['PUT', '/api/v1/namespaces/default/pods/web/status', undefined, { verb: 'PUT', scope: 'resource', subresource: 'status' }],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', 'application/strategic-merge-patch+json', { verb: 'PATCH', group: 'apps', version: 'v1', resource: 'deployments' }],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', 'application/apply-patch+yaml', { verb: 'APPLY' }],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', 'application/apply-patch+yaml; charset=utf-8', { verb: 'APPLY' }],
    ['DELETE', '/api/v1/namespaces/default/pods/web', undefined, { verb: 'DELETE', scope: 'resource' }],
    ['DELETE', '/api/v1/namespaces/default/pods', undefined, { verb: 'DELETE', scope: 'namespace' }],
    ['GET', '/api/v1/namespaces/kube-system', undefined, { verb: 'GET', scope: 'resource', resource: 'namespaces' }],
    ['POST', '/api/v1/namespaces/default/pods?dryRun=All', undefined, { dry_run: 'All' }],
  ])('%s %s (%s)', (method, url, contentType, want) => {
    expect(labelsOf(method, url, contentType)).toMatchObject({ component: 'apiserver', dry_run: '', ...want });
  });

  it('dry_run is "All", "" or "invalid", never what the client wrote', () => {
    expect(dryRunOf(new URLSearchParams(''))).toBe('');
    expect(dryRunOf(new URLSearchParams('dryRun=All&dryRun=All'))).toBe('All');
    expect(dryRunOf(new URLSearchParams('dryRun=client-made-up'))).toBe('invalid');
  });

  it('non-resource requests carry the method and empty resource labels; unknown methods collapse to "other"', () => {
    expect(nonResourceLabels('GET')).toEqual({ verb: 'GET', dry_run: '', group: '', version: '', resource: '', subresource: '', scope: '', component: 'apiserver' });
    expect(nonResourceLabels('HEAD').verb).toBe('GET');
    expect(nonResourceLabels('PROPFIND').verb).toBe('other');
  });

  it('reads are readOnly, writes mutating; only watches are long-running', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(requestKind)).toEqual(['readOnly', 'readOnly', 'mutating', 'mutating', 'mutating', 'mutating']);
    expect(isLongRunning('GET', new URLSearchParams('watch=true'))).toBe(true);
    expect(isLongRunning('GET', new URLSearchParams('watch=false'))).toBe(false);
    expect(isLongRunning('POST', new URLSearchParams('watch=true'))).toBe(false);
  });
});
