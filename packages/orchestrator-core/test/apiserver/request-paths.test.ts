import { parseRequestTarget, parseResourcePath, type ResourcePath } from '../../src/apiserver/http/request.js';
import { StatusError } from '../../src/apiserver/status.js';

/**
 * Hostile request targets: a dot-segment or an encoded `/` must never make a
 * request reach another resource than its segments name (issue 11: `DELETE
 * .../pods/%2E%2E` deleted the namespace). Each is refused before anything is
 * resolved, with kube-apiserver's wording.
 */

function resolve(url: string): ResourcePath | undefined {
  return parseResourcePath(parseRequestTarget(url).rawPath);
}

function refusal(url: string): { code: number; message: string } {
  try {
    resolve(url);
  } catch (err) {
    if (err instanceof StatusError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`${url} was accepted`);
}

const DOTDOT = `Name parameter invalid: "..": may not be '..'`;
const DOT = `Name parameter invalid: ".": may not be '.'`;
const NS_DOTDOT = `Namespace parameter invalid: "..": may not be '..'`;

const hostile: [string, number, string][] = [
  // the name of a namespaced object
  ['/api/v1/namespaces/victim/pods/%2E%2E', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2e%2e', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/..', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/.%2E', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2e.', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2E', 400, DOT],
  ['/api/v1/namespaces/victim/pods/.', 400, DOT],
  ['/api/v1/namespaces/victim/pods/..?watch=true', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2E%2E/', 400, DOTDOT],
  // with every subresource
  ['/api/v1/namespaces/victim/pods/%2E%2E/status', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2E%2E/binding', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2E%2E/log', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/%2E%2E/exec', 400, DOTDOT],
  ['/api/v1/namespaces/victim/replicationcontrollers/%2E%2E/scale', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/p/%2E%2E', 400, DOTDOT],
  ['/api/v1/namespaces/victim/pods/p/.', 400, DOT],
  // walking up to another collection
  ['/api/v1/namespaces/default/services/x/%2E%2E/%2E%2E/%2E%2E/%2E%2E/nodes', 400, DOTDOT],
  ['/api/v1/namespaces/default/pods/../../../../version', 400, DOTDOT],
  ['/api/v1/namespaces/default/%2E%2E', 400, DOTDOT],
  ['/api/v1/%2E%2E/nodes', 400, DOTDOT],
  ['/apis/%2E%2E/v1/nodes', 400, DOTDOT],
  // the namespace segment
  ['/api/v1/namespaces/%2E%2E/pods', 400, NS_DOTDOT],
  ['/api/v1/namespaces/../pods/x', 400, NS_DOTDOT],
  ['/api/v1/namespaces/%2E/pods/x', 400, `Namespace parameter invalid: ".": may not be '.'`],
  ['/api/v1/namespaces/a%2Fb/pods', 400, `Namespace parameter invalid: "a/b": may not contain '/'`],
  ['/api/v1/namespaces/a%25b/pods', 400, `Namespace parameter invalid: "a%b": may not contain '%'`],
  // cluster-scoped names, the namespace object itself, other groups
  ['/api/v1/namespaces/%2E%2E', 400, DOTDOT],
  ['/api/v1/namespaces/..', 400, DOTDOT],
  ['/api/v1/namespaces/%2E%2E/status', 400, DOTDOT],
  ['/api/v1/nodes/%2E%2E', 400, DOTDOT],
  ['/api/v1/nodes/..%2Fx', 400, `Name parameter invalid: "../x": may not contain '/'`],
  ['/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%2E%2E', 400, DOTDOT],
  ['/apis/discovery.k8s.io/v1/namespaces/%2e%2e/endpointslices', 400, NS_DOTDOT],
  // an encoded separator or escape inside a name
  ['/api/v1/namespaces/default/pods/a%2Fb', 400, `Name parameter invalid: "a/b": may not contain '/'`],
  ['/api/v1/namespaces/default/pods/a%2fb/status', 400, `Name parameter invalid: "a/b": may not contain '/'`],
  ['/api/v1/namespaces/default/pods/%2F', 400, `Name parameter invalid: "/": may not contain '/'`],
  ['/api/v1/namespaces/default/pods/a%25b', 400, `Name parameter invalid: "a%b": may not contain '%'`],
  ['/api/v1/namespaces/default/pods/%25%2F', 400, `Name parameter invalid: "%/": may not contain '/';may not contain '%'`],
  // malformed escapes, empty segments, the absolute form
  ['/api/v1/namespaces/default/pods/%zz', 400, 'malformed percent-encoding in the URL path segment "%zz"'],
  ['/api/v1/namespaces//pods', 404, 'the server could not find the requested resource'],
  ['/api/v1/namespaces/default/pods//status', 404, 'the server could not find the requested resource'],
  ['http://apiserver/api/v1/namespaces/victim/pods/%2E%2E', 400, DOTDOT],
];

describe('hostile request paths', () => {
  it.each(hostile)('%s is refused with %i', (url, code, message) => {
    const got = refusal(url);
    expect(got.code).toBe(code);
    expect(got.message).toContain(message);
  });

  it('keeps names that merely contain dots, and decodes the query', () => {
    expect(resolve('/api/v1/namespaces/victim/pods/web.1')).toMatchObject({ namespace: 'victim', name: 'web.1' });
    expect(resolve('/api/v1/namespaces/victim/pods/...')).toMatchObject({ name: '...' });
    expect(resolve('/api/v1/namespaces/victim/pods/')).toMatchObject({ namespace: 'victim', resource: { resource: 'pods' } });
    expect(resolve('/api/v1/nodes/n%2D1')).toMatchObject({ name: 'n-1' });
    const t = parseRequestTarget('/api/v1/pods?labelSelector=a%3Db&watch=1');
    expect(t.rawPath).toBe('/api/v1/pods');
    expect(t.query.get('labelSelector')).toBe('a=b');
  });

  it('never removes dot-segments from the path it matches health and discovery against', () => {
    expect(parseRequestTarget('/api/v1/pods/../../healthz').path).toBe('/api/v1/pods/../../healthz');
    expect(parseRequestTarget('/%68ealthz').path).toBe('/healthz');
    expect(parseRequestTarget('/version/%zz').path).toBe('/version/%zz');
  });
});
