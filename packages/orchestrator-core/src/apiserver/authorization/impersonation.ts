import type { IncomingHttpHeaders } from 'node:http';
import { AUTHENTICATED_GROUP, type UserInfo } from '../auth.js';
import { resourceAttributes, type Authorizer } from './attributes.js';
import { authorizeOrThrow } from './authorizer.js';
import { SERVICE_ACCOUNT_PREFIX } from './rules.js';

/**
 * Impersonation (`kubectl --as`, `--as-group`; the apiserver's
 * WithImpersonation filter): a request with `Impersonate-User` (and any
 * `Impersonate-Group`) acts as that user once the requester may
 * `impersonate` each: users and groups by name, a service account user as
 * its ServiceAccount object. Impersonated users get the groups an
 * authenticator would have given them (system:authenticated; a service
 * account's system:serviceaccounts groups).
 */

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean);

/** The user the request acts as: the authenticated one, or whom it impersonates (403 when not allowed). */
export async function impersonatedUser(requester: UserInfo, headers: IncomingHttpHeaders, authorizer: Authorizer): Promise<UserInfo> {
  const name = list(headers['impersonate-user'])[0];
  const groups = list(headers['impersonate-group']);
  if (name === undefined) return requester;
  const core = { group: '', version: 'v1' };
  const sa = name.startsWith(SERVICE_ACCOUNT_PREFIX) ? name.slice(SERVICE_ACCOUNT_PREFIX.length).split(':') : undefined;
  if (sa && sa.length === 2) await authorizeOrThrow(authorizer, resourceAttributes(requester, 'impersonate', { ...core, resource: 'serviceaccounts' }, { namespace: sa[0], name: sa[1] }));
  else await authorizeOrThrow(authorizer, resourceAttributes(requester, 'impersonate', { ...core, resource: 'users' }, { name }));
  for (const g of groups) await authorizeOrThrow(authorizer, resourceAttributes(requester, 'impersonate', { ...core, resource: 'groups' }, { name: g }));
  const all = [...groups];
  if (sa && sa.length === 2) all.push('system:serviceaccounts', `system:serviceaccounts:${sa[0]}`);
  if (name !== 'system:anonymous' && !all.includes(AUTHENTICATED_GROUP)) all.push(AUTHENTICATED_GROUP);
  return { name, uid: list(headers['impersonate-uid'])[0] ?? '', groups: [...new Set(all)] };
}
