import { parseFieldSelector } from '@pilot/api';
import type { UserInfo } from '../auth.js';

/**
 * What an authorizer decides on (kube-apiserver's authorizer.Attributes):
 * who, which verb, and either a resource (group, resource, subresource,
 * namespace, name) or a non-resource path. Built once per request from the
 * parsed path; the same shape comes from a SubjectAccessReview's spec.
 */

export interface Attributes {
  user: UserInfo;
  /** Resource verbs (get, list, watch, create, update, patch, delete, deletecollection, or a special verb such as bind); for a path, the lower-cased HTTP method. */
  verb: string;
  resourceRequest: boolean;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  /** "" for cluster-scoped resources and for requests across all namespaces. */
  namespace: string;
  /** "" for collections and for creates (the name is in the body). */
  name: string;
  /** Non-resource requests only. */
  path: string;
}

export type Decision = 'allow' | 'deny' | 'noOpinion';

export interface AuthorizerResult {
  decision: Decision;
  /** Why, for the 403 and for access reviews ("" when nothing to say). */
  reason: string;
}

export interface Authorizer {
  authorize(a: Attributes): Promise<AuthorizerResult> | AuthorizerResult;
}

export const NO_OPINION: AuthorizerResult = Object.freeze({ decision: 'noOpinion', reason: '' });
export const ALLOW: AuthorizerResult = Object.freeze({ decision: 'allow', reason: '' });

/** A resource request's attributes (the verb as the HTTP layer named it). */
export function resourceAttributes(
  user: UserInfo,
  verb: string,
  r: { group: string; version: string; resource: string },
  o: { namespace?: string | undefined; name?: string | undefined; subresource?: string | undefined; fieldSelector?: string | null } = {},
): Attributes {
  let name = o.name ?? '';
  // `kubectl get pod x -w` lists with metadata.name=x: authorized as that one object, as upstream does.
  if (name === '' && (verb === 'list' || verb === 'watch') && o.fieldSelector) name = selectedName(o.fieldSelector);
  return {
    user,
    verb,
    resourceRequest: true,
    apiGroup: r.group,
    apiVersion: r.version,
    resource: r.resource,
    subresource: o.subresource ?? '',
    namespace: o.namespace ?? '',
    name,
    path: '',
  };
}

/** A non-resource request's attributes: discovery, /healthz, /openapi, /metrics. */
export function pathAttributes(user: UserInfo, method: string, path: string): Attributes {
  return { user, verb: method.toLowerCase(), resourceRequest: false, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', path };
}

function selectedName(fieldSelector: string): string {
  try {
    return parseFieldSelector(fieldSelector).exactValue('metadata.name') ?? '';
  } catch {
    return '';
  }
}
