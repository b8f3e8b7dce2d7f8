/**
 * Indexes several controllers put on the shared informers (upstream's
 * informer indexers): added once, by whichever controller asks first.
 */
import type { Informer, Pod } from '@pilot/api';

export const POD_NODE_NAME_INDEX = 'spec.nodeName';

/** The pods bound to each node, by spec.nodeName, on the shared pods informer. */
export function indexPodsByNode(pods: Informer<Pod>): void {
  if (!pods.indexer.hasIndex(POD_NODE_NAME_INDEX)) pods.indexer.addIndex(POD_NODE_NAME_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
}

export function podsOnNode(pods: Informer<Pod>, nodeName: string): Pod[] {
  return pods.indexer.byIndex(POD_NODE_NAME_INDEX, nodeName);
}
