import { isObject, labelSelectorFromObject, RBAC_GROUP, type KubeObject, type LabelSelectorSpec, type PolicyRule, type RoleBinding, type Subject } from '@pilot/api';
import type { FieldProblem } from '../status.js';
import { stableStringify, type Strategy } from './strategy.js';

/**
 * rbac.authorization.k8s.io/v1 as kube-apiserver validates it
 * (pkg/apis/rbac/validation): every rule names verbs; a resource rule names
 * groups and resources, a path rule only paths, and only ClusterRoles may
 * have path rules; a binding's roleRef is an rbac Role (RoleBinding only) or
 * ClusterRole and never changes; subjects are Users, Groups or
 * ServiceAccounts, whose apiGroup is defaulted (SetDefaults_Subject). Who may
 * write which rules is admission's (admission/rbac-escalation.ts).
 */

const problem = (field: string, message: string, type = 'FieldValueInvalid'): FieldProblem => ({ type, field, message });
const required = (field: string, what: string): FieldProblem => problem(field, `Required value: ${what}`, 'FieldValueRequired');

function validateRules(rules: unknown, namespaced: boolean): FieldProblem[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [problem('rules', 'Invalid value: must be a list of rules')];
  const out: FieldProblem[] = [];
  rules.forEach((raw, i) => {
    const f = `rules[${i}]`;
    if (!isObject(raw)) return void out.push(problem(f, 'Invalid value: must be an object'));
    const r = raw as unknown as PolicyRule;
    for (const key of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
      const v = r[key];
      if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) out.push(problem(`${f}.${key}`, 'Invalid value: must be a list of strings'));
    }
    if (!r.verbs?.length) out.push(required(`${f}.verbs`, 'verbs must contain at least one value'));
    const urls = r.nonResourceURLs ?? [];
    if (urls.length > 0) {
      if (namespaced) out.push(problem(`${f}.nonResourceURLs`, `Invalid value: ${JSON.stringify(urls)}: namespaced rules cannot apply to non-resource URLs`));
      if ((r.apiGroups ?? []).length > 0 || (r.resources ?? []).length > 0 || (r.resourceNames ?? []).length > 0)
        out.push(problem(`${f}.nonResourceURLs`, `Invalid value: ${JSON.stringify(urls)}: rules cannot apply to both regular resources and non-resource URLs`));
      return;
    }
    if (!r.apiGroups?.length) out.push(required(`${f}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!r.resources?.length) out.push(required(`${f}.resources`, 'resource rules must supply at least one resource'));
  });
  return out;
}

/** An aggregationRule's selectors must parse: they are evaluated on every authorization that reaches the role. */
function validateAggregation(rule: unknown): FieldProblem[] {
  if (rule === undefined || rule === null) return [];
  const selectors = isObject(rule) ? rule.clusterRoleSelectors : undefined;
  if (selectors === undefined || selectors === null) return [];
  if (!Array.isArray(selectors)) return [problem('aggregationRule.clusterRoleSelectors', 'Invalid value: must be a list of label selectors')];
  return selectors.flatMap((sel, i) => {
    try {
      labelSelectorFromObject(sel as LabelSelectorSpec);
      return [];
    } catch (err) {
      return [problem(`aggregationRule.clusterRoleSelectors[${i}]`, `Invalid value: ${(err as Error).message}`)];
    }
  });
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, cluster: boolean): FieldProblem[] {
  const b = obj as RoleBinding;
  const out: FieldProblem[] = [];
  const ref = b.roleRef as unknown;
  if (!isObject(ref)) return [required('roleRef', 'a role reference is required')];
  const kinds = cluster ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (ref.apiGroup !== RBAC_GROUP) out.push(problem('roleRef.apiGroup', `Unsupported value: ${JSON.stringify(ref.apiGroup ?? '')}: supported values: "${RBAC_GROUP}"`, 'FieldValueNotSupported'));
  if (typeof ref.kind !== 'string' || !kinds.includes(ref.kind))
    out.push(problem('roleRef.kind', `Unsupported value: ${JSON.stringify(ref.kind ?? '')}: supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`, 'FieldValueNotSupported'));
  if (typeof ref.name !== 'string' || ref.name === '') out.push(required('roleRef.name', ''));
  if (old && stableStringify((old as RoleBinding).roleRef) !== stableStringify(b.roleRef))
    out.push(problem('roleRef', `Invalid value: ${JSON.stringify(b.roleRef)}: cannot change roleRef`));
  const subjects = b.subjects as unknown;
  if (subjects !== undefined && subjects !== null && !Array.isArray(subjects)) return [...out, problem('subjects', 'Invalid value: must be a list of subjects')];
  ((subjects as unknown[]) ?? []).forEach((raw, i) => {
    const f = `subjects[${i}]`;
    if (!isObject(raw)) return void out.push(problem(f, 'Invalid value: must be an object'));
    const s = raw as unknown as Subject;
    if (typeof s.name !== 'string' || s.name === '') out.push(required(`${f}.name`, ''));
    switch (s.kind) {
      case 'ServiceAccount':
        if (s.apiGroup) out.push(problem(`${f}.apiGroup`, `Unsupported value: ${JSON.stringify(s.apiGroup)}: supported values: ""`, 'FieldValueNotSupported'));
        if (cluster && !s.namespace) out.push(required(`${f}.namespace`, ''));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== RBAC_GROUP) out.push(problem(`${f}.apiGroup`, `Unsupported value: ${JSON.stringify(s.apiGroup ?? '')}: supported values: "${RBAC_GROUP}"`, 'FieldValueNotSupported'));
        break;
      default:
        out.push(problem(`${f}.kind`, `Unsupported value: ${JSON.stringify(s.kind ?? '')}: supported values: "ServiceAccount", "User", "Group"`, 'FieldValueNotSupported'));
    }
  });
  return out;
}

/** SetDefaults_Subject: a User or Group without apiGroup is RBAC's, a ServiceAccount's is core's. */
function defaultSubjects(obj: KubeObject): void {
  const subjects = (obj as RoleBinding).subjects;
  if (!Array.isArray(subjects)) return;
  for (const s of subjects) {
    if (!isObject(s) || (s as Subject).apiGroup) continue;
    if (s.kind === 'User' || s.kind === 'Group') (s as Subject).apiGroup = RBAC_GROUP;
  }
}

export const roleStrategy: Strategy = { validate: (obj) => validateRules((obj as { rules?: unknown }).rules, true) };
export const clusterRoleStrategy: Strategy = {
  validate: (obj) => [...validateRules((obj as { rules?: unknown }).rules, false), ...validateAggregation((obj as { aggregationRule?: unknown }).aggregationRule)],
};
export const roleBindingStrategy: Strategy = {
  prepareForCreate: defaultSubjects,
  prepareForUpdate: defaultSubjects,
  validate: (obj, old) => validateBinding(obj, old, false),
};
export const clusterRoleBindingStrategy: Strategy = {
  prepareForCreate: defaultSubjects,
  prepareForUpdate: defaultSubjects,
  validate: (obj, old) => validateBinding(obj, old, true),
};
