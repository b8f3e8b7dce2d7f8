import { isPodReady, type ApiClient, type Pod } from '@pilot/api';

/**
 * The seed RC's pods as the seed walkthrough and the failure story read them:
 * mynode.yaml labels them `app=sample` in `default`.
 */
export const SEED_NS = 'default';

/** The RC's live pods (not being deleted). */
export async function rcPods(api: ApiClient): Promise<Pod[]> {
  const list = await api.list<Pod>('pods', { namespace: SEED_NS, labelSelector: 'app=sample' });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** Running with Ready=True: what `kubectl get pods` shows as 1/1 Running. */
export const isRunningReady = (p: Pod): boolean => p.status?.phase === 'Running' && isPodReady(p);
