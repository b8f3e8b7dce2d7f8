import type { KubeObject, ResourceInfo } from '@pilot/api';
import type { UserInfo } from '../auth.js';

/**
 * Validating admission (kube-apiserver's admission.Interface): after the
 * object to be written is known and checked, before it is stored, each
 * plugin may refuse the write by throwing (a 403 StatusError). Only writes
 * made for a user run them; the apiserver's own writes do not.
 */

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionAttributes {
  user: UserInfo;
  operation: Operation;
  resource: ResourceInfo;
  /** "status" for a status update, "" for the main resource. */
  subresource: string;
  namespace: string;
  name: string;
  /** What is to be stored (CREATE, UPDATE). */
  object?: KubeObject;
  /** What is stored now (UPDATE, DELETE). */
  oldObject?: KubeObject;
}

export type AdmissionPlugin = (a: AdmissionAttributes) => void | Promise<void>;

export function admissionChain(plugins: readonly AdmissionPlugin[]): AdmissionPlugin {
  return async (a) => {
    for (const p of plugins) await p(a);
  };
}
