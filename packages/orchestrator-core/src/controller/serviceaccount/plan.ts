import type { Namespace, ServiceAccount } from '@pilot/api';

/**
 * The service accounts every namespace has (upstream's
 * ServiceAccountsControllerOptions: just `default`).
 */
export const DEFAULT_SERVICE_ACCOUNTS: readonly string[] = ['default'];

/**
 * Which of `wanted` to create in a namespace (pure, upstream's
 * syncNamespace): none while the namespace is absent or not Active (a
 * terminating namespace refuses new content), otherwise those its cache
 * does not hold.
 */
export function missingServiceAccounts(ns: Namespace | undefined, existing: (name: string) => boolean, wanted: readonly string[] = DEFAULT_SERVICE_ACCOUNTS): string[] {
  if (!ns || ns.metadata.deletionTimestamp) return [];
  if ((ns.status?.phase ?? 'Active') !== 'Active') return [];
  return wanted.filter((name) => !existing(name));
}

/** The object created for a missing service account. */
export function serviceAccountFor(namespace: string, name: string): ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } };
}
