import type { Verb } from './http/handlers.js';
import type { ResourcePath } from './http/request.js';

/**
 * The labels kube-apiserver puts on its request metrics
 * (k8s.io/apiserver/pkg/endpoints/metrics): the reported verb (GET vs LIST
 * vs WATCH, APPLY for server-side apply patches), dry_run, group, version,
 * resource, subresource, scope and component. Pure, so the mapping is
 * table-tested; the resource comes only from the served resource table, so
 * an unknown path collapses to "" and the label set stays bounded.
 */

export const COMPONENT = 'apiserver';

export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml';

/** Keyed by the label names themselves, so the one object goes to prom-client as it is. */
export interface RequestLabels {
  verb: string;
  dry_run: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  component: string;
}

/** A request that is not a resource request (discovery, /healthz, /metrics, a 404). */
export function nonResourceLabels(method: string): RequestLabels {
  return { verb: reportedMethod(method), dry_run: '', group: '', version: '', resource: '', subresource: '', scope: '', component: COMPONENT };
}

/** Upstream's CleanScope: a named object (or a create) is "resource", else the namespace's, else the cluster's. */
export function scopeOf(p: ResourcePath, verb: Verb): string {
  if (p.name !== undefined || verb === 'create') return 'resource';
  if (p.resource.namespaced && p.namespace !== undefined) return 'namespace';
  return 'cluster';
}

/** Upstream's cleanDryRun: the sorted distinct values when every one is "All", "invalid" otherwise. */
export function dryRunOf(q: URLSearchParams): string {
  const values = q.getAll('dryRun');
  if (values.length === 0) return '';
  return values.every((v) => v === 'All') ? 'All' : 'invalid';
}

/**
 * Upstream's reported verb: the HTTP method, except GET of a collection is
 * LIST, a watch is WATCH, an apply patch is APPLY, a connect subresource is
 * CONNECT; methods outside the known set are "other".
 */
export function reportedVerb(verb: Verb, method: string, contentType: string | undefined): string {
  switch (verb) {
    case 'list':
      return 'LIST';
    case 'watch':
      return 'WATCH';
    case 'connect':
      return 'CONNECT';
    case 'patch':
      return contentType !== undefined && contentType.startsWith(APPLY_PATCH_CONTENT_TYPE) ? 'APPLY' : 'PATCH';
    default:
      return reportedMethod(method);
  }
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

function reportedMethod(method: string): string {
  if (method === 'HEAD') return 'GET';
  return KNOWN_METHODS.has(method) ? method : 'other';
}

export function resourceLabels(verb: Verb, method: string, p: ResourcePath, q: URLSearchParams, contentType: string | undefined): RequestLabels {
  return {
    verb: reportedVerb(verb, method, contentType),
    dry_run: dryRunOf(q),
    group: p.resource.group,
    version: p.resource.version,
    resource: p.resource.resource,
    subresource: p.subresource ?? '',
    scope: scopeOf(p, verb),
    component: COMPONENT,
  };
}

/** apiserver_current_inflight_requests' request_kind: upstream counts reads and writes apart. */
export function requestKind(method: string): 'readOnly' | 'mutating' {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'readOnly' : 'mutating';
}

/** Watches are long-running: upstream leaves them out of the in-flight gauge and counts them in apiserver_longrunning_requests. */
export function isLongRunning(method: string, q: URLSearchParams): boolean {
  if (method !== 'GET') return false;
  const w = q.get('watch');
  return w === 'true' || w === '1';
}
