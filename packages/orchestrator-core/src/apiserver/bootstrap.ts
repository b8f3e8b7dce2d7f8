import { resourceByName, type Endpoints, type KubeObject, type Service } from '@pilot/api';
import type { Logger } from '@pilot/common';
import type { ObjectAccess } from './registry/access.js';
import { StatusError } from './status.js';
import type { ApiserverConfig } from './flags.js';
import { reconcileBootstrapPolicy } from './authorization/reconcile.js';

/**
 * What every cluster has from the first second: the namespaces default,
 * kube-system, kube-public and kube-node-lease (kube-apiserver's system
 * namespaces controller), and the Service default/kubernetes at the
 * first address of the service range, port 443 ("https"), with Endpoints
 * pointing at the advertised secure port (none when only loopback is served);
 * and the default RBAC roles and bindings (authorization/reconcile.ts).
 */

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

const res = (plural: string) => resourceByName(plural)!;

async function createIfMissing(objects: ObjectAccess, plural: string, ns: string | undefined, obj: KubeObject): Promise<boolean> {
  try {
    // The apiserver's own objects: no Events about them (as kube-apiserver writes none).
    await objects.create(res(plural), ns, obj, { events: false });
    return true;
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'AlreadyExists') return false;
    throw err;
  }
}

/** The desired subsets of default/kubernetes: the advertised address and secure port. */
export function kubernetesEndpoints(cfg: Pick<ApiserverConfig, 'advertiseAddress' | 'securePort'>): Endpoints['subsets'] {
  if (!cfg.advertiseAddress || !cfg.securePort) return [];
  return [{ addresses: [{ ip: cfg.advertiseAddress }], ports: [{ name: 'https', port: cfg.securePort, protocol: 'TCP' }] }];
}

export async function bootstrap(objects: ObjectAccess, cfg: ApiserverConfig, log: Logger): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    if (await createIfMissing(objects, 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })) log.info({ namespace: name }, 'created namespace');
  }
  const ip = cfg.serviceClusterIPRange.nth(1);
  const svc: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: cfg.securePort || 6443 }],
      sessionAffinity: 'None',
    },
  };
  if (await createIfMissing(objects, 'services', 'default', svc)) log.info({ clusterIP: ip }, 'created service default/kubernetes');
  await reconcileBootstrapPolicy(objects, log);

  const subsets = kubernetesEndpoints(cfg);
  const epRes = res('endpoints');
  let current: Endpoints | undefined;
  try {
    current = (await objects.get(epRes, 'default', 'kubernetes')) as Endpoints;
  } catch (err) {
    if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
  }
  if (!subsets?.length) {
    // Only loopback is served: nothing outside this host can reach us, publish nothing.
    if (current) await objects.delete(epRes, 'default', 'kubernetes').catch(() => undefined);
    return;
  }
  if (!current) {
    await createIfMissing(objects, 'endpoints', 'default', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets });
    log.info({ subsets }, 'created endpoints default/kubernetes');
  } else if (JSON.stringify(current.subsets ?? []) !== JSON.stringify(subsets)) {
    await objects.mutate(epRes, 'default', 'kubernetes', undefined, (cur) => ({ ...cur, subsets }));
    log.info({ subsets }, 'updated endpoints default/kubernetes');
  }
}
