import { isObject, type ObjectMeta } from '@pilot/api';
import { badRequest } from '../status.js';

/**
 * The object metadata rules of an update (PUT, and every patch type once the
 * patch is applied), as kube-apiserver's update and patch handlers,
 * rest.BeforeUpdate and ValidateObjectMetaAccessorUpdate apply them:
 *
 * 1. the body's namespace must be the URL's (empty: the URL's), then its name
 *    must be the URL's — 400 BadRequest, checked before anything is stored;
 * 2. what the server owns is carried over: an empty uid takes the stored one,
 *    creationTimestamp changes are ignored, a deletionTimestamp or grace
 *    period the object already has cannot be dropped;
 * 3. what is left changed is 422 `field is immutable` (validateObject's
 *    metadata rules): a different uid, a deletionTimestamp or
 *    deletionGracePeriodSeconds set or changed by a client.
 */

/** Rule 1: 400 unless the object names what the URL names; an empty namespace becomes the URL's. */
export function checkRequestIdentity(obj: unknown, namespaced: boolean, namespace: string | undefined, name: string): void {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
  if (namespaced && meta) {
    const ns = meta.namespace;
    if (ns === undefined || ns === null || ns === '') meta.namespace = namespace;
    else if (ns !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const objName = meta?.name;
  if (typeof objName !== 'string' || objName === '') throw badRequest(`the name of the object (${name} based on URL) was undeterminable: name must be provided`);
  if (objName !== name) throw badRequest(`the name of the object (${objName}) does not match the name on the URL (${name})`);
}

/**
 * Rule 2 on `next` (changed in place), before validation: what is still
 * different afterwards is rule 3's, which validateObject (ValidateObjectMetaUpdate) reports.
 */
export function carryServerMeta(old: ObjectMeta, next: ObjectMeta): void {
  if (!next.uid) setOrDelete(next, 'uid', old.uid);
  setOrDelete(next, 'creationTimestamp', old.creationTimestamp);
  if (old.deletionTimestamp !== undefined || next.deletionTimestamp === null) setOrDelete(next, 'deletionTimestamp', old.deletionTimestamp);
  if (next.deletionGracePeriodSeconds === undefined || next.deletionGracePeriodSeconds === null) setOrDelete(next, 'deletionGracePeriodSeconds', old.deletionGracePeriodSeconds);
}

function setOrDelete<K extends keyof ObjectMeta>(meta: ObjectMeta, key: K, value: ObjectMeta[K] | undefined): void {
  if (value === undefined) delete meta[key];
  else meta[key] = value;
}
