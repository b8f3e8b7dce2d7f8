import { CORE_V1_MESSAGES } from './core-v1.js';
import type { FieldDesc, MessageDesc } from './schema.js';

/**
 * Field numbers from k8s.io/api rbac/v1 and authorization/v1
 * generated.proto, for what kubectl's typed clients send: `kubectl create
 * role|clusterrole|rolebinding|clusterrolebinding` and `kubectl auth can-i`
 * (a SelfSubjectAccessReview).
 */

const s = (name: string): FieldDesc => ({ name, type: 'string' });
const strings = (name: string): FieldDesc => ({ name, type: 'string', repeated: true });
const msg = (name: string, type: MessageDesc, repeated = false): FieldDesc => ({ name, type, ...(repeated ? { repeated } : {}) });
const metadata = msg('metadata', CORE_V1_MESSAGES.ObjectMeta);

const LabelSelectorRequirement: MessageDesc = { name: 'LabelSelectorRequirement', fields: { 1: s('key'), 2: s('operator'), 3: strings('values') } };
const LabelSelector: MessageDesc = {
  name: 'LabelSelector',
  fields: { 1: { name: 'matchLabels', type: 'string', map: true }, 2: msg('matchExpressions', LabelSelectorRequirement, true) },
};

const PolicyRule: MessageDesc = {
  name: 'PolicyRule',
  fields: { 1: strings('verbs'), 2: strings('apiGroups'), 3: strings('resources'), 4: strings('resourceNames'), 5: strings('nonResourceURLs') },
};
const Subject: MessageDesc = { name: 'Subject', fields: { 1: s('kind'), 2: s('apiGroup'), 3: s('name'), 4: s('namespace') } };
const RoleRef: MessageDesc = { name: 'RoleRef', fields: { 1: s('apiGroup'), 2: s('kind'), 3: s('name') } };
const AggregationRule: MessageDesc = { name: 'AggregationRule', fields: { 1: msg('clusterRoleSelectors', LabelSelector, true) } };

const Role: MessageDesc = { name: 'Role', fields: { 1: metadata, 2: msg('rules', PolicyRule, true) } };
const ClusterRole: MessageDesc = { name: 'ClusterRole', fields: { 1: metadata, 2: msg('rules', PolicyRule, true), 3: msg('aggregationRule', AggregationRule) } };
const RoleBinding: MessageDesc = { name: 'RoleBinding', fields: { 1: metadata, 2: msg('subjects', Subject, true), 3: msg('roleRef', RoleRef) } };
const ClusterRoleBinding: MessageDesc = { name: 'ClusterRoleBinding', fields: RoleBinding.fields };

const ResourceAttributes: MessageDesc = {
  name: 'ResourceAttributes',
  fields: { 1: s('namespace'), 2: s('verb'), 3: s('group'), 4: s('version'), 5: s('resource'), 6: s('subresource'), 7: s('name') },
};
const NonResourceAttributes: MessageDesc = { name: 'NonResourceAttributes', fields: { 1: s('path'), 2: s('verb') } };
const SelfSubjectAccessReviewSpec: MessageDesc = {
  name: 'SelfSubjectAccessReviewSpec',
  fields: { 1: msg('resourceAttributes', ResourceAttributes), 2: msg('nonResourceAttributes', NonResourceAttributes) },
};
const SubjectAccessReviewSpec: MessageDesc = {
  name: 'SubjectAccessReviewSpec',
  fields: { 1: msg('resourceAttributes', ResourceAttributes), 2: msg('nonResourceAttributes', NonResourceAttributes), 3: s('user'), 4: strings('groups'), 6: s('uid') },
};
const review = (name: string, spec: MessageDesc): MessageDesc => ({ name, fields: { 1: metadata, 2: msg('spec', spec) } });

/** Top-level kinds by `apiVersion/kind`, as the envelope names them. */
export const RBAC_V1_KINDS: Readonly<Record<string, MessageDesc>> = {
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': review('SelfSubjectAccessReview', SelfSubjectAccessReviewSpec),
  'authorization.k8s.io/v1/SubjectAccessReview': review('SubjectAccessReview', SubjectAccessReviewSpec),
  'authorization.k8s.io/v1/LocalSubjectAccessReview': review('LocalSubjectAccessReview', SubjectAccessReviewSpec),
};
