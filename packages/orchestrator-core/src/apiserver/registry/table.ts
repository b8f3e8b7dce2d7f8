import type { KubeObject, ResourceInfo } from '@pilot/api';
import { endpointsStrategy } from './endpoints.js';
import { jobStrategy, jobSubresources } from './jobs.js';
import { namespaceStrategy, namespaceSubresources } from './namespaces.js';
import { podDisruptionBudgetStrategy, podDisruptionBudgetSubresources } from './poddisruptionbudgets.js';
import { newPodStrategy, podStrategy, podSubresources, type PodAdmissionConfig } from './pods.js';
import { clusterRoleBindingStrategy, clusterRoleStrategy, roleBindingStrategy, roleStrategy } from './rbac.js';
import { replicationControllerStrategy, replicationControllerSubresources } from './replicationcontrollers.js';
import { serviceStrategy, serviceSubresources } from './services.js';
import {
  daemonSetStrategy,
  daemonSetSubresources,
  deploymentStrategy,
  deploymentSubresources,
  replicaSetStrategy,
  replicaSetSubresources,
  statefulSetStrategy,
  statefulSetSubresources,
} from './workloads.js';
import type { Strategy } from './strategy.js';
import { statusSubresource, type SubresourceMap } from './subresources.js';

/**
 * Per resource (by plural): its strategy and its subresources. A resource
 * without a row is served with the generic behaviour alone. Adding a
 * subresource is one entry in its resource's map (and the subresource name
 * in @pilot/api's RESOURCES row, from which discovery and the client's paths
 * come); the HTTP layer needs no change. A unit test checks that both tables
 * name the same subresources.
 */

/** A POST that is answered, never stored (kube-apiserver's access reviews): the answer, 201. */
export type AnswerCreate = (r: ResourceInfo, namespace: string | undefined, body: unknown) => Promise<KubeObject>;

export interface ResourceRegistration {
  strategy?: Strategy;
  subresources?: SubresourceMap;
  /** Set for resources without storage: create runs this and nothing else. */
  answer?: AnswerCreate;
}

export type ResourceTable = Readonly<Record<string, ResourceRegistration>>;

export const RESOURCE_TABLE: ResourceTable = {
  namespaces: { strategy: namespaceStrategy, subresources: namespaceSubresources },
  pods: { strategy: podStrategy, subresources: podSubresources },
  services: { strategy: serviceStrategy, subresources: serviceSubresources },
  endpoints: { strategy: endpointsStrategy },
  replicationcontrollers: { strategy: replicationControllerStrategy, subresources: replicationControllerSubresources },
  nodes: { subresources: { status: statusSubresource } },
  roles: { strategy: roleStrategy },
  clusterroles: { strategy: clusterRoleStrategy },
  rolebindings: { strategy: roleBindingStrategy },
  clusterrolebindings: { strategy: clusterRoleBindingStrategy },
  deployments: { strategy: deploymentStrategy, subresources: deploymentSubresources },
  replicasets: { strategy: replicaSetStrategy, subresources: replicaSetSubresources },
  daemonsets: { strategy: daemonSetStrategy, subresources: daemonSetSubresources },
  statefulsets: { strategy: statefulSetStrategy, subresources: statefulSetSubresources },
  jobs: { strategy: jobStrategy, subresources: jobSubresources },
  poddisruptionbudgets: { strategy: podDisruptionBudgetStrategy, subresources: podDisruptionBudgetSubresources },
};

/**
 * The table with what the apiserver's flags change: the pod admission's
 * default tolerations; and the access reviews, answered by the authorizer.
 */
export function resourceTable(o: { pods?: PodAdmissionConfig; reviews?: AnswerCreate } = {}): ResourceTable {
  let t: ResourceTable = o.pods ? { ...RESOURCE_TABLE, pods: { ...RESOURCE_TABLE.pods, strategy: newPodStrategy(o.pods) } } : RESOURCE_TABLE;
  if (o.reviews) {
    const answer = o.reviews;
    t = { ...t, selfsubjectaccessreviews: { answer }, subjectaccessreviews: { answer }, localsubjectaccessreviews: { answer } };
  }
  return t;
}
