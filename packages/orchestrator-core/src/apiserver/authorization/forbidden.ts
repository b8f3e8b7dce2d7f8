import { forbidden, type StatusError } from '../status.js';
import type { Attributes } from './attributes.js';

/**
 * The 403 of a refused request, worded as kube-apiserver's
 * responsewriters.Forbidden: `pods is forbidden: User "x" cannot list
 * resource "pods" in API group "" in the namespace "y"`, then `: <reason>`
 * when an authorizer gave one.
 */
export function forbiddenMessage(a: Attributes): string {
  const user = `User "${a.user.name}"`;
  if (!a.resourceRequest) return `${user} cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${user} cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${where}`;
}

export function forbiddenError(a: Attributes, reason: string): StatusError {
  const why = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  if (!a.resourceRequest) return forbidden(`forbidden: ${why}`);
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  return forbidden(`${subject} is forbidden: ${why}`, { ...(a.name ? { name: a.name } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), kind: a.resource });
}
