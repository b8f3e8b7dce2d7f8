import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../auth.js';

/**
 * Who the current request is, for the parts that run below the HTTP layer
 * and decide by it: access reviews, admission (NodeRestriction, RBAC's
 * escalation check). kube-apiserver carries the user in the request's
 * context.Context (request.UserFrom); AsyncLocalStorage is Node's context.
 * The apiserver's own writes (bootstrap, events it records on its own) run
 * outside any request and see no user.
 */

const current = new AsyncLocalStorage<UserInfo>();

export function runAsUser<T>(user: UserInfo, fn: () => T): T {
  return current.run(user, fn);
}

export function requestUser(): UserInfo | undefined {
  return current.getStore();
}

/** Who the insecure loopback port's requests are: all-powerful, as in the seed (upstream's system:unsecured). */
export const INSECURE_USER: UserInfo = Object.freeze({ name: 'system:unsecured', uid: '', groups: Object.freeze(['system:masters', 'system:authenticated']) as string[] });

/** Who a request without credentials is, where one is served (health, version). */
export const ANONYMOUS_USER: UserInfo = Object.freeze({ name: 'system:anonymous', uid: '', groups: Object.freeze(['system:unauthenticated']) as string[] });
