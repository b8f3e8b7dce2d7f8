import { atomicList, bool, free, mapOf, ref, str, type FieldSchema, type StructSchema } from './schema.js';

/**
 * rbac.authorization.k8s.io/v1 and authorization.k8s.io/v1 as schema data
 * (k8s.io/api rbac/v1 and authorization/v1, v1.32): every list is atomic,
 * as their struct tags say. Spread into DEFINITIONS (definitions.ts).
 */

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const RBAC = 'io.k8s.api.rbac.v1';
const AUTHZ = 'io.k8s.api.authorization.v1';

const typeMeta = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
};
const metadata = (): FieldSchema => ref(`${META}.ObjectMeta`, "Standard object's metadata.");
const strings = (description?: string): FieldSchema => atomicList(str(), description);

const rules = (): FieldSchema => atomicList(ref(`${RBAC}.PolicyRule`), 'Rules holds all the PolicyRules for this Role');
const subjects = (): FieldSchema => atomicList(ref(`${RBAC}.Subject`), 'Subjects holds references to the objects the role applies to.');
const roleRef = (): FieldSchema => ref(`${RBAC}.RoleRef`, 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.');

const review = (kind: string, spec: string): StructSchema => ({
  gvk: { group: 'authorization.k8s.io', version: 'v1', kind },
  properties: { ...typeMeta, metadata: metadata(), spec: ref(`${AUTHZ}.${spec}`), status: ref(`${AUTHZ}.SubjectAccessReviewStatus`) },
  required: ['spec'],
});

export const RBAC_DEFINITIONS: Readonly<Record<string, StructSchema>> = {
  [`${RBAC}.PolicyRule`]: {
    properties: {
      verbs: strings('Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. \'*\' represents all verbs.'),
      apiGroups: strings('APIGroups is the name of the APIGroup that contains the resources.'),
      resources: strings("Resources is a list of resources this rule applies to. '*' represents all resources."),
      resourceNames: strings('ResourceNames is an optional white list of names that the rule applies to.'),
      nonResourceURLs: strings('NonResourceURLs is a set of partial urls that a user should have access to.'),
    },
    required: ['verbs'],
  },
  [`${RBAC}.Subject`]: {
    properties: { kind: str(undefined, ['User', 'Group', 'ServiceAccount']), apiGroup: str(), name: str(), namespace: str() },
    required: ['kind', 'name'],
  },
  [`${RBAC}.RoleRef`]: { properties: { apiGroup: str(), kind: str(), name: str() }, required: ['apiGroup', 'kind', 'name'] },
  [`${RBAC}.AggregationRule`]: { properties: { clusterRoleSelectors: atomicList(ref(`${META}.LabelSelector`)) } },
  [`${RBAC}.Role`]: { gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role' }, properties: { ...typeMeta, metadata: metadata(), rules: rules() } },
  [`${RBAC}.ClusterRole`]: {
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
    properties: { ...typeMeta, metadata: metadata(), rules: rules(), aggregationRule: ref(`${RBAC}.AggregationRule`) },
  },
  [`${RBAC}.RoleBinding`]: {
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding' },
    properties: { ...typeMeta, metadata: metadata(), subjects: subjects(), roleRef: roleRef() },
    required: ['roleRef'],
  },
  [`${RBAC}.ClusterRoleBinding`]: {
    gvk: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding' },
    properties: { ...typeMeta, metadata: metadata(), subjects: subjects(), roleRef: roleRef() },
    required: ['roleRef'],
  },

  [`${AUTHZ}.ResourceAttributes`]: {
    properties: { namespace: str(), verb: str(), group: str(), version: str(), resource: str(), subresource: str(), name: str(), fieldSelector: free(), labelSelector: free() },
  },
  [`${AUTHZ}.NonResourceAttributes`]: { properties: { path: str(), verb: str() } },
  [`${AUTHZ}.SelfSubjectAccessReviewSpec`]: {
    properties: { resourceAttributes: ref(`${AUTHZ}.ResourceAttributes`), nonResourceAttributes: ref(`${AUTHZ}.NonResourceAttributes`) },
  },
  [`${AUTHZ}.SubjectAccessReviewSpec`]: {
    properties: {
      resourceAttributes: ref(`${AUTHZ}.ResourceAttributes`),
      nonResourceAttributes: ref(`${AUTHZ}.NonResourceAttributes`),
      user: str(),
      groups: strings(),
      extra: mapOf(strings()),
      uid: str(),
    },
  },
  [`${AUTHZ}.SubjectAccessReviewStatus`]: { properties: { allowed: bool(), denied: bool(), reason: str(), evaluationError: str() }, required: ['allowed'] },
  [`${AUTHZ}.SelfSubjectAccessReview`]: review('SelfSubjectAccessReview', 'SelfSubjectAccessReviewSpec'),
  [`${AUTHZ}.SubjectAccessReview`]: review('SubjectAccessReview', 'SubjectAccessReviewSpec'),
  [`${AUTHZ}.LocalSubjectAccessReview`]: review('LocalSubjectAccessReview', 'SubjectAccessReviewSpec'),
};
