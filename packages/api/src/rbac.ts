import type { KubeObject, LabelSelectorSpec } from './types.js';

/**
 * rbac.authorization.k8s.io/v1 and authorization.k8s.io/v1 shapes as they
 * appear in JSON (k8s.io/api rbac/v1 and authorization/v1 types.go).
 */

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  /** User, Group or ServiceAccount. */
  kind: string;
  /** rbac.authorization.k8s.io for User and Group, "" for ServiceAccount. */
  apiGroup?: string;
  name: string;
  /** ServiceAccount only. */
  namespace?: string;
}

export interface RoleRef {
  apiGroup: string;
  /** Role or ClusterRole. */
  kind: string;
  name: string;
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface AggregationRule {
  clusterRoleSelectors?: LabelSelectorSpec[];
}

export interface ClusterRole extends KubeObject {
  rules?: PolicyRule[];
  aggregationRule?: AggregationRule;
}

export interface RoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type ClusterRoleBinding = RoleBinding;

export interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

export interface SubjectAccessReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface SubjectAccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview (whose spec has no user). */
export interface AccessReview extends KubeObject {
  spec?: SubjectAccessReviewSpec;
  status?: SubjectAccessReviewStatus;
}
